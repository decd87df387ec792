import { describe, expect, it } from 'vitest';
import { countResults, formatSummary, type ModuleLike, type SummaryCounts } from '../support/summary-reporter.js';

type State = 'pending' | 'passed' | 'failed' | 'skipped';

function module(states: State[], opts: { moduleErrors?: number; suiteErrors?: number[] } = {}): ModuleLike {
  const errors = (n: number): unknown[] => Array.from({ length: n }, (_, i) => new Error(`e${i}`));
  return {
    errors: () => errors(opts.moduleErrors ?? 0),
    children: {
      allTests: () => states.map((state) => ({ result: () => ({ state }) })),
      allSuites: () => (opts.suiteErrors ?? []).map((n) => ({ errors: () => errors(n) })),
    },
  };
}

describe('formatSummary', () => {
  const cases: Array<[SummaryCounts, string]> = [
    [{ passed: 0, failed: 0, skipped: 0 }, '0 passed, 0 failed'],
    [{ passed: 12, failed: 1, skipped: 0 }, '12 passed, 1 failed'],
    [{ passed: 3, failed: 0, skipped: 2 }, '2 skipped\n3 passed, 0 failed'],
  ];
  it.each(cases)('%o -> %s', (counts, line) => {
    expect(formatSummary(counts)).toBe(line);
  });
});

describe('countResults', () => {
  const cases: Array<[string, ModuleLike[], number, SummaryCounts]> = [
    ['no modules', [], 0, { passed: 0, failed: 0, skipped: 0 }],
    ['mixed states across modules', [module(['passed', 'failed', 'skipped']), module(['passed', 'passed'])], 0, { passed: 3, failed: 1, skipped: 1 }],
    ['pending (interrupted) is not counted', [module(['passed', 'pending'])], 0, { passed: 1, failed: 0, skipped: 0 }],
    ['a module that failed to load counts once', [module([], { moduleErrors: 2 })], 0, { passed: 0, failed: 1, skipped: 0 }],
    ['a suite whose hook threw counts once, its tests are skipped', [module(['passed', 'skipped', 'skipped'], { suiteErrors: [0, 1] })], 0, { passed: 1, failed: 1, skipped: 2 }],
    ['unhandled errors count as failures', [module(['passed'])], 2, { passed: 1, failed: 2, skipped: 0 }],
  ];
  it.each(cases)('%s', (_name, modules, unhandled, expected) => {
    expect(countResults(modules, unhandled)).toEqual(expected);
  });
});
