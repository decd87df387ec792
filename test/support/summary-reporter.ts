/**
 * A vitest reporter that ends the run with exactly one line:
 *
 *   N passed, N failed
 *
 * (skipped tests, when there are any, are counted on the line before it).
 * Counts are per test case. A test file or suite that fails outside its tests
 * (import error, syntax error, failing beforeAll/afterAll) and every unhandled
 * error also count as one failure each, so a broken run never reads "0 failed".
 * Skipped includes `it.skip`, `it.todo` and tests not run because a hook threw.
 * Used next to the default reporter (see vitest.config.ts).
 */
import type { Reporter, TestModule, TestRunEndReason, Vitest } from 'vitest/node';

export interface SummaryCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** The summary: `N passed, N failed` last, preceded by `N skipped` when there are any. */
export function formatSummary(counts: SummaryCounts): string {
  const last = `${counts.passed} passed, ${counts.failed} failed`;
  return counts.skipped > 0 ? `${counts.skipped} skipped\n${last}` : last;
}

/**
 * The part of vitest's TestModule that counting reads; TestModule satisfies it,
 * and unit tests build it from plain objects.
 */
export interface ModuleLike {
  errors(): ReadonlyArray<unknown>;
  children: {
    allTests(): Iterable<{ result(): { state: 'pending' | 'passed' | 'failed' | 'skipped' } }>;
    allSuites(): Iterable<{ errors(): ReadonlyArray<unknown> }>;
  };
}

/**
 * Tallies test cases of finished modules. Each test file and each suite that
 * failed outside its tests (load error, throwing beforeAll/afterAll) adds one
 * failure, and so does each unhandled error.
 */
export function countResults(testModules: ReadonlyArray<ModuleLike>, unhandledErrors = 0): SummaryCounts {
  const counts: SummaryCounts = { passed: 0, failed: unhandledErrors, skipped: 0 };
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed += 1;
      else if (state === 'failed') counts.failed += 1;
      else if (state === 'skipped') counts.skipped += 1; // skip, todo, and tests of a suite whose beforeAll threw
      // 'pending' only happens on an interrupted run: not counted.
    }
    if (module.errors().length > 0) counts.failed += 1;
    for (const suite of module.children.allSuites()) {
      if (suite.errors().length > 0) counts.failed += 1;
    }
  }
  return counts;
}

export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    _reason: TestRunEndReason,
  ): void {
    const line = formatSummary(countResults(testModules, unhandledErrors.length));
    // Through vitest's logger so it lands after the default reporter's own summary.
    if (this.vitest) this.vitest.logger.log(line);
    else process.stdout.write(`${line}\n`);
  }
}
