// The false-positive arithmetic behind the default policy (see policy.ts), as code.
import { requiredTargets, type VerdictPolicy } from './policy.js';

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let sum = 0;
  for (let i = k; i <= n; i++) sum += binomial(n, i) * p ** i * (1 - p) ** (n - i);
  return Math.min(1, sum);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

export interface FalsePositiveScenario {
  /** Independent loss probability of each probe, e.g. 0.2. */
  lossRate: number;
  /** Targets probed per node, e.g. 3. */
  targets: number;
  /** Vantages probing each node, e.g. 2 (self and one peer). */
  vantages: number;
  /** Probe interval, e.g. 200 ms. */
  intervalMs: number;
  /** The period to bound over, e.g. one day. */
  periodMs: number;
}

export interface FalsePositiveBound {
  /** P(one window holds ≥ k failures, or ends in failStreakToFail failures): a union bound. */
  window: number;
  /** P(one target is failing from ≥ minVantages vantages). */
  target: number;
  /** P(the node meets the unhealthy condition in one round). */
  perRound: number;
  /** Union bound on false unhealthy verdicts per node over the period. */
  perPeriod: number;
}

/**
 * An upper bound on false "unhealthy" verdicts for a healthy node whose probes are lost
 * independently. It ignores the requirement that another node reach the target clearly,
 * which only makes false verdicts rarer.
 */
export function falseUnhealthyBound(policy: VerdictPolicy, s: FalsePositiveScenario): FalsePositiveBound {
  const streak = policy.failStreakToFail > 0 ? s.lossRate ** policy.failStreakToFail : 0;
  const window = Math.min(1, binomialTail(policy.windowProbes, policy.failuresToFail, s.lossRate) + streak);
  const target = binomialTail(s.vantages, policy.minVantages, window);
  const perRound = binomialTail(s.targets, requiredTargets(policy, s.targets), target);
  const rounds = s.periodMs / s.intervalMs;
  return { window, target, perRound, perPeriod: Math.min(1, perRound * rounds) };
}
