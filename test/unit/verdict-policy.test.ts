import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeZodIssues } from '../../src/config/errors.js';
import { isVantage, peerVantage } from '../../src/domain/signals.js';
import {
  binomialTail,
  createVerdictTracker,
  DEFAULT_VERDICT_POLICY,
  falseUnhealthyBound,
  verdictPolicySchema,
} from '../../src/domain/verdict/index.js';
import { run, seeded, type Outcome } from './verdict-sim.js';

describe('verdict policy', () => {
  it('an empty policy takes the documented defaults', () => {
    expect(verdictPolicySchema.parse({})).toEqual(DEFAULT_VERDICT_POLICY);
    expect(createVerdictTracker().policy).toEqual(DEFAULT_VERDICT_POLICY);
  });

  it.each([
    [{ failuresToFail: 11 }, 'failuresToFail: expected at most windowProbes (10), got 11'],
    [{ failuresToFail: 5 }, 'failuresToFail: expected more than half of windowProbes (> 5), got 5'],
    [{ passesToRecover: 20 }, 'passesToRecover: expected at most windowProbes (10), got 20'],
    [{ windowProbes: 2.5 }, 'windowProbes: expected a whole number'],
    [{ failingTargets: 'most' }, "failingTargets: expected 'majority' or a whole number ≥ 1"],
    [{ minStableMs: -1 }, 'minStableMs:'],
    [{ windowSize: 10 }, 'windowSize: unknown field (check the spelling)'],
  ])('%j is refused, naming the field', (input, line) => {
    const r = verdictPolicySchema.safeParse(input);
    expect(r.success).toBe(false);
    if (!r.success) expect(describeZodIssues(r.error).join('\n')).toContain(line);
  });

  it('the documented false-positive numbers hold for the defaults (20% loss, 3 targets, 2 vantages, 200 ms)', () => {
    const b = falseUnhealthyBound(verdictPolicySchema.parse({}), {
      lossRate: 0.2,
      targets: 3,
      vantages: 2,
      intervalMs: 200,
      periodMs: 86_400_000,
    });
    // k of n: 8.64e-4, plus 4 straight failures: 0.2^4 = 1.6e-3 (policy.ts).
    expect(b.window).toBeCloseTo(2.4644e-3, 7);
    expect(b.target).toBeCloseTo(6.07e-6, 8);
    expect(b.perRound).toBeLessThan(1.2e-10);
    expect(b.perPeriod).toBeLessThan(5e-5);
    const kOfNOnly = falseUnhealthyBound(verdictPolicySchema.parse({ failStreakToFail: 0 }), { lossRate: 0.2, targets: 3, vantages: 2, intervalMs: 200, periodMs: 86_400_000 });
    expect(kOfNOnly.window).toBeCloseTo(8.64e-4, 6);
    expect(kOfNOnly.perPeriod).toBeLessThan(1e-6);
    expect(binomialTail(10, 0, 0.5)).toBe(1);
    expect(binomialTail(10, 11, 0.5)).toBe(0);
  });

  it('vantage helpers', () => {
    expect(peerVantage('i-1')).toBe('peer:i-1');
    expect(['self', 'peer:i-1', 'peer:', 'other'].map(isVantage)).toEqual([true, true, false, false]);
  });
});

describe('verdict property: independent loss ≤ 20% and no real fault never yields unhealthy', () => {
  it('bounded random runs (2–3 nodes, 3–5 targets, per-target loss 0–20%, 2 minutes each)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.double({ min: 0, max: 0.2, noNaN: true }), { minLength: 3, maxLength: 5 }),
        fc.integer(),
        (nodeCount, losses, seed) => {
          const nodes = ['a', 'b', 'c'].slice(0, nodeCount);
          const targets = losses.map((_, i) => `t${i}`);
          const rand = seeded(seed);
          const outcome: Outcome = (_n, t) => rand() >= (losses[targets.indexOf(t)] ?? 0);
          const sim = { tracker: createVerdictTracker(), nodes, targets };
          const ts = run(sim, 0, 600, outcome);
          expect(ts.filter((t) => t.to === 'unhealthy' || t.to === 'internet-unreachable')).toEqual([]);
        },
      ),
      { numRuns: 15, seed: 20_240_601 },
    );
  });
});
