// The verdict policy: how much evidence turns a node unhealthy, and healthy again.
import { z } from 'zod';

/**
 * Defaults, and why they are safe.
 *
 * Terms: a *window* is the last `windowProbes` (n) results of one (node, target, vantage).
 * A window is *failing* when it holds at least `failuresToFail` (k) failures. A target is
 * *confirmed* against a node when at least `minVantages` of that node's fresh windows for
 * it are failing (self and a peer, by default) AND another node reaches that target
 * clearly at the same time (one of its windows has at most n − k failures). A node turns
 * unhealthy when confirmed targets reach `failingTargets` (a majority of its probed targets).
 *
 * Defaults: n = 10, k = 7, m = 5 consecutive passes, minimum stable time 10 s,
 * 2 vantages, a majority of targets (2 of the default 3), data older than 2 s ignored.
 *
 * Detection: a hung NAT fails every probe from every vantage. The scheduler sends a probe
 * every interval I whether or not earlier ones answered, and each fails at its timeout T,
 * so a window holds its k-th failure (k − 1) × I + T after the first hung probe was sent:
 * 6 × 200 ms + 1 s = 2.2 s at the defaults (k = 7), 1.7 s with T = 500 ms. Counted from
 * the moment the NAT hangs, add up to one interval until each job's next send (the windows
 * needed run on independently jittered schedules, so expect close to the full interval):
 * 2.2–2.4 s at the defaults, 1.7–1.9 s with T = 500 ms; a peer vantage's results then
 * reach the deciding agent with its next heartbeat.
 *
 * False positives with 20% independent loss on every target (3 targets, 2 vantages,
 * 200 ms interval, so 5 rounds/s and 432,000 rounds a day):
 *   - one window failing:      P(X ≥ 7), X ~ Binomial(10, 0.2)           = 8.64e-4
 *   - one target confirmed:    both vantages failing, (8.64e-4)^2        = 7.47e-7
 *   - the node unhealthy:      ≥ 2 of 3 targets, ≈ 3 · (7.47e-7)^2       = 1.67e-12 per round
 *   - union bound over a day:  1.67e-12 · 432,000                        ≈ 7.2e-7 per node-day
 * The bound ignores the "another node reaches it clearly" requirement, which only lowers it
 * (`falseUnhealthyBound` computes these numbers for any policy).
 * One target down, or any loss on a single target, can never turn a node unhealthy: one
 * target is short of the majority of 3. (For comparison, k = 6 gives 2.1e-3 per node-day,
 * and deciding on a single target at k = 7 gives 0.32 false verdicts per node-day.)
 *
 * Why k > n/2 is required: a window cannot then be "failing" (≥ k failures) and "clearly
 * passing" (≤ n − k failures) at once, and the gap between the two (2k − n = 4 rounds,
 * 800 ms by default) is how much agents may lag each other at the start or end of an
 * internet outage before one node is wrongly blamed for it.
 *
 * Straight failures (the fast path for a hung node): a window whose last s = 4 results
 * all failed counts as failing too, but such a target is confirmed only while another
 * node's last 4 results for it pass (a node lagging one round into an internet outage
 * already has a failure at its end, so nobody is blamed for the outage's start).
 * Detection: (s − 1) × I + T = 1.6 s at the defaults, 1.1 s with T = 500 ms. The price,
 * at 20% loss: a window is failing by either rule with P ≤ 8.64e-4 + 0.2^4 = 2.46e-3, a
 * target from both vantages 6.1e-6, the node 1.1e-10 per round: 4.8e-5 false verdicts per
 * node-day (one per ~57 node-years of sustained 20% loss), against 7.2e-7 without it.
 * 0 turns it off (and minVantages 1 needs a longer streak: see docs/agent.md).
 *
 * Silent and unreachable (the fast path for a dead node): a node whose heartbeats this
 * agent lost, and whose every fresh peer vantage has its last `silentFailures` (f = 3)
 * results failing on a majority of targets while another node reaches those targets,
 * is unhealthy at once. A hard-killed NAT stops its heartbeats and its self vantage,
 * so the two-vantage rule above could never confirm it; EC2 state says so only after
 * EC2 notices. Detection is about T + (f − 1) × I after the death (1.4 s at the
 * defaults, 0.9 s with T = 500 ms), heartbeat loss (5 × 100 ms) running in parallel.
 * Why it cannot blame a working node: silence alone never counts (a security group or
 * an nft rule that cuts the heartbeat port leaves probes through the node passing), and
 * any peer whose probes through the node still pass blocks it. Its false-positive cost
 * is that of silence + f straight failures on a majority of targets: 3 · (0.2^3)^2 =
 * 1.9e-4 per round at 20% loss, but only while heartbeats are lost. A full partition
 * between the leader and a node in a two-NAT zone does move egress to the leader's side,
 * which is healthy: a needless move, not an outage. 0 turns the fast path off.
 *
 * Recovery: healthy again only when a majority of targets have, on some fresh vantage,
 * the last m = 5 results passing (1 s) with no fresh vantage failing, AND nothing
 * counted against the node for minStableMs = 10 s. Under 20% loss a vantage has 5 passes
 * in a row 33% of the time, so recovery is not blocked by ordinary loss.
 */
export const DEFAULT_VERDICT_POLICY = {
  windowProbes: 10,
  failuresToFail: 7,
  passesToRecover: 5,
  minStableMs: 10_000,
  minVantages: 2,
  failingTargets: 'majority',
  staleAfterMs: 2_000,
  silentFailures: 3,
  failStreakToFail: 4,
} as const;

const positiveInt = (max: number) => z.number().int('expected a whole number').min(1).max(max);

export const verdictPolicySchema = z
  .strictObject({
    /** n: how many of the latest probes per (target, vantage) are weighed. Default 10. */
    windowProbes: positiveInt(1000).default(DEFAULT_VERDICT_POLICY.windowProbes),
    /** k: failures within the window that make the window failing; must be more than n/2. Default 7. */
    failuresToFail: positiveInt(1000).default(DEFAULT_VERDICT_POLICY.failuresToFail),
    /** m: consecutive passes a target needs before the node can be healthy again. Default 5. */
    passesToRecover: positiveInt(1000).default(DEFAULT_VERDICT_POLICY.passesToRecover),
    /** Time nothing may count against a node before it is healthy (again). Default 10 s. */
    minStableMs: z.number().int('expected a whole number').min(0).default(DEFAULT_VERDICT_POLICY.minStableMs),
    /** Distinct vantage points (self, peers) that must each see a target failing. Default 2. */
    minVantages: positiveInt(64).default(DEFAULT_VERDICT_POLICY.minVantages),
    /** Confirmed failing targets that make a node unhealthy: 'majority' of its targets, or a count. */
    failingTargets: z
      .union([z.literal('majority'), positiveInt(64)], { error: "expected 'majority' or a whole number ≥ 1" })
      .default(DEFAULT_VERDICT_POLICY.failingTargets),
    /** Probe results older than this are ignored (a silent vantage is no evidence). Default 2 s. */
    staleAfterMs: positiveInt(3_600_000).default(DEFAULT_VERDICT_POLICY.staleAfterMs),
    /** s: straight failures that make a window failing too (the fast path for a hung node); 0 = off. Default 4. */
    failStreakToFail: z.number().int('expected a whole number').min(0).max(1000).default(DEFAULT_VERDICT_POLICY.failStreakToFail),
    /** f: straight failures through a node whose heartbeats are lost that make it unhealthy; 0 = off. Default 3. */
    silentFailures: z.number().int('expected a whole number').min(0).max(1000).default(DEFAULT_VERDICT_POLICY.silentFailures),
  })
  .superRefine((p, ctx) => {
    if (p.failuresToFail > p.windowProbes) {
      ctx.addIssue({
        code: 'custom',
        path: ['failuresToFail'],
        message: `expected at most windowProbes (${p.windowProbes}), got ${p.failuresToFail}`,
      });
    } else if (2 * p.failuresToFail <= p.windowProbes) {
      ctx.addIssue({
        code: 'custom',
        path: ['failuresToFail'],
        message: `expected more than half of windowProbes (> ${p.windowProbes / 2}), got ${p.failuresToFail}`,
      });
    }
    if (p.failStreakToFail > p.windowProbes) {
      ctx.addIssue({
        code: 'custom',
        path: ['failStreakToFail'],
        message: `expected at most windowProbes (${p.windowProbes}), got ${p.failStreakToFail}`,
      });
    }
    if (p.silentFailures > p.windowProbes) {
      ctx.addIssue({
        code: 'custom',
        path: ['silentFailures'],
        message: `expected at most windowProbes (${p.windowProbes}), got ${p.silentFailures}`,
      });
    }
    if (p.passesToRecover > p.windowProbes) {
      ctx.addIssue({
        code: 'custom',
        path: ['passesToRecover'],
        message: `expected at most windowProbes (${p.windowProbes}), got ${p.passesToRecover}`,
      });
    }
  });

/** A validated policy with every default filled in. */
export type VerdictPolicy = z.output<typeof verdictPolicySchema>;
/** What a config file may say: every field optional. */
export type VerdictPolicyInput = z.input<typeof verdictPolicySchema>;

/** How many confirmed targets make a node unhealthy, out of `targetCount` probed targets. */
export function requiredTargets(policy: VerdictPolicy, targetCount: number): number {
  return policy.failingTargets === 'majority' ? Math.floor(targetCount / 2) + 1 : policy.failingTargets;
}
