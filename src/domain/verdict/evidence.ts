// The verdict rules over one snapshot of fresh probe windows. Pure: no state, no time.
import type { NodeId, Vantage } from '../signals.js';
import { requiredTargets, type VerdictPolicy } from './policy.js';
import type { WindowStats } from './window.js';

export interface VantageView {
  vantage: Vantage;
  stats: WindowStats;
}

/** Fresh windows only: node → target → one view per vantage that reported recently. */
export type Snapshot = ReadonlyMap<NodeId, ReadonlyMap<string, readonly VantageView[]>>;

/** At least k failures in the window. */
export function isFailing(policy: VerdictPolicy, s: WindowStats): boolean {
  return s.failures >= policy.failuresToFail;
}

/** At most n − k failures, over at least m results: the target is reachable from here. */
export function isClearlyPassing(policy: VerdictPolicy, s: WindowStats): boolean {
  return s.size >= policy.passesToRecover && s.failures <= policy.windowProbes - policy.failuresToFail;
}

export interface NodeEvidence {
  /** Targets with fresh results for the node. */
  targets: number;
  /** Confirmed targets needed to call the node unhealthy (or to call it passing). */
  required: number;
  /**
   * Targets failing from ≥ minVantages vantages (k of the last n, or the last failStreakToFail
   * in a row) while another node reaches them (clearly, or its last as many passing).
   */
  confirmed: string[];
  /** Targets whose latest m results pass on some vantage, with no vantage failing. */
  passing: string[];
  /** "t1 (self 7/10, peer:b 8/10)" for each confirmed target. */
  detail: string;
}

export function nodeEvidence(policy: VerdictPolicy, snapshot: Snapshot, node: NodeId): NodeEvidence {
  const byTarget = snapshot.get(node) ?? new Map<string, readonly VantageView[]>();
  const confirmed: string[] = [];
  const passing: string[] = [];
  const details: string[] = [];
  for (const [target, views] of byTarget) {
    const failing = views.filter((v) => isFailing(policy, v.stats));
    const streaking = policy.failStreakToFail > 0 ? views.filter((v) => v.stats.failStreak >= policy.failStreakToFail) : [];
    const byWindow = failing.length >= policy.minVantages && reachedByAnotherNode(policy, snapshot, node, target);
    const byStreak = !byWindow && streaking.length >= policy.minVantages && passedElsewhere(snapshot, node, target, policy.failStreakToFail);
    if (byWindow || byStreak) {
      confirmed.push(target);
      const counts = byWindow ? failing.map((v) => `${v.vantage} ${v.stats.failures}/${v.stats.size}`) : streaking.map((v) => `${v.vantage} last ${v.stats.failStreak} failed`);
      details.push(`${target} (${counts.join(', ')})`);
    }
    if (failing.length === 0 && streaking.length === 0 && views.some((v) => v.stats.passStreak >= policy.passesToRecover)) passing.push(target);
  }
  return {
    targets: byTarget.size,
    required: requiredTargets(policy, byTarget.size),
    confirmed,
    passing,
    detail: details.join('; '),
  };
}

/** Some other node's vantage reaches `target` clearly right now. */
function reachedByAnotherNode(policy: VerdictPolicy, snapshot: Snapshot, node: NodeId, target: string): boolean {
  for (const [other, byTarget] of snapshot) {
    if (other === node) continue;
    if (byTarget.get(target)?.some((v) => isClearlyPassing(policy, v.stats))) return true;
  }
  return false;
}

/**
 * The fast path for a node that went silent: targets whose every fresh peer vantage (at
 * least one) ends in `silentFailures` straight failures while another node's last as many
 * results for them pass.
 * Self results are left out: a dead node's last self results are passing and merely
 * not stale yet. Evidence in the same shape as nodeEvidence (passing unused).
 */
export function silentEvidence(policy: VerdictPolicy, snapshot: Snapshot, node: NodeId): NodeEvidence {
  const byTarget = snapshot.get(node) ?? new Map<string, readonly VantageView[]>();
  const confirmed: string[] = [];
  const details: string[] = [];
  let targets = 0;
  for (const [target, views] of byTarget) {
    const peers = views.filter((v) => v.vantage !== 'self');
    if (!peers.length) continue;
    targets++;
    if (policy.silentFailures > 0 && peers.every((v) => v.stats.failStreak >= policy.silentFailures) && passedElsewhere(snapshot, node, target, policy.silentFailures)) {
      confirmed.push(target);
      details.push(`${target} (${peers.map((v) => `${v.vantage} last ${v.stats.failStreak} failed`).join(', ')})`);
    }
  }
  return { targets, required: requiredTargets(policy, targets), confirmed, passing: [], detail: details.join('; ') };
}

/**
 * Another node's latest `streak` results for `target` all pass: the same number of rounds
 * the silent node failed, so the start of an internet outage (which every node sees within
 * a round or so) is not pinned on the node that happened to go silent.
 */
function passedElsewhere(snapshot: Snapshot, node: NodeId, target: string, streak: number): boolean {
  for (const [other, byTarget] of snapshot) {
    if (other !== node && byTarget.get(target)?.some((v) => v.stats.passStreak >= streak)) return true;
  }
  return false;
}

export function isNodeFailing(e: NodeEvidence): boolean {
  return e.targets > 0 && e.confirmed.length >= e.required;
}

export function isNodePassing(e: NodeEvidence): boolean {
  return e.targets > 0 && e.passing.length >= e.required;
}

/** Correlated-failure guard, entry: there is data, and every fresh window of every node is failing. */
export function everyoneFailsEverything(policy: VerdictPolicy, snapshot: Snapshot): boolean {
  let windows = 0;
  for (const byTarget of snapshot.values()) {
    for (const views of byTarget.values()) {
      for (const v of views) {
        if (!isFailing(policy, v.stats)) return false;
        windows++;
      }
    }
  }
  return windows > 0;
}

/** Correlated-failure guard, exit: some node reaches some target clearly again. */
export function someoneReachesSomething(policy: VerdictPolicy, snapshot: Snapshot): boolean {
  for (const byTarget of snapshot.values()) {
    for (const views of byTarget.values()) {
      if (views.some((v) => isClearlyPassing(policy, v.stats))) return true;
    }
  }
  return false;
}
