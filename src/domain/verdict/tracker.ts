// Per-node verdicts with hysteresis, from signals. Pure and synchronous: time comes from
// the signals' timestamps and the `now` passed to verdicts(); nothing is read from globals.
import type { Ec2State, NodeId, PlannedHandoverSignal, ProbeResultSignal, Signal, Timestamp, Vantage } from '../signals.js';
import {
  everyoneFailsEverything,
  isNodeFailing,
  isNodePassing,
  nodeEvidence,
  silentEvidence,
  someoneReachesSomething,
  type Snapshot,
  type VantageView,
} from './evidence.js';
import { verdictPolicySchema, type VerdictPolicy, type VerdictPolicyInput } from './policy.js';
import type { NodeVerdict, VerdictCode, VerdictState, VerdictTransition } from './types.js';
import { ProbeWindow } from './window.js';

/** Transitions kept for transitions(); older ones are dropped first. */
export const TRANSITION_HISTORY_LIMIT = 1000;

export interface VerdictTracker {
  readonly policy: VerdictPolicy;
  /**
   * Takes one signal and returns the transitions it caused. Probe results and EC2 states
   * are evaluated at once (at the signal's time), and so is a heartbeat loss (it arms the
   * silent-and-unreachable rule; silence alone never changes a verdict). Planned-handover
   * notices never change a verdict.
   */
  observe(signal: Signal): VerdictTransition[];
  /** Every known node's verdict at `now` (time-based recovery happens here too). */
  verdicts(now: Timestamp): NodeVerdict[];
  /** Transitions so far, oldest first (the latest TRANSITION_HISTORY_LIMIT). */
  transitions(): VerdictTransition[];
  /** Drops a node that left the topology (its verdict, windows and views of others through it). */
  forget(node: NodeId): void;
}

interface NodeRecord {
  state: VerdictState;
  since: Timestamp;
  code: VerdictCode;
  reason: string;
  /** The last time anything counted against the node (or when it was first seen). */
  lastBadAt: Timestamp;
  /** The state before the correlated-failure guard took over, restored when it lifts. */
  priorState: VerdictState;
  ec2?: Ec2State;
  /** Heartbeats from the node are lost (to this agent), since then. */
  silentSince?: Timestamp;
  handover?: NonNullable<NodeVerdict['handover']>;
  /** target → vantage → window */
  windows: Map<string, Map<Vantage, ProbeWindow>>;
}

interface Outcome {
  state: VerdictState;
  code: VerdictCode;
  reason: string;
}

/**
 * Creates a tracker. `policy` is validated with verdictPolicySchema (a ZodError names
 * the bad field); omitted fields take the documented defaults.
 */
export function createVerdictTracker(policy: VerdictPolicyInput = {}): VerdictTracker {
  const p = verdictPolicySchema.parse(policy);
  const nodes = new Map<NodeId, NodeRecord>();
  const history: VerdictTransition[] = [];
  let evaluatedAt = Number.NEGATIVE_INFINITY;
  let internetDown = false;

  function record(node: NodeId, at: Timestamp): NodeRecord {
    let r = nodes.get(node);
    if (!r) {
      r = {
        state: 'unknown',
        since: at,
        code: 'first-seen',
        reason: 'no evidence yet',
        lastBadAt: at,
        priorState: 'unknown',
        windows: new Map(),
      };
      nodes.set(node, r);
    }
    return r;
  }

  function addProbe(s: ProbeResultSignal): void {
    const r = record(s.node, s.at);
    // A node EC2 says is not running has no data path to judge; its results wait for the restart.
    if (r.ec2 !== undefined && r.ec2 !== 'running') return;
    let byVantage = r.windows.get(s.target);
    if (!byVantage) r.windows.set(s.target, (byVantage = new Map<Vantage, ProbeWindow>()));
    let w = byVantage.get(s.vantage);
    if (!w) byVantage.set(s.vantage, (w = new ProbeWindow(p.windowProbes)));
    w.add({ ok: s.ok, at: s.at });
  }

  function setEc2(node: NodeId, state: Ec2State, at: Timestamp): void {
    const r = record(node, at);
    // Results from before a stop say nothing about the node after it: start over.
    if (state !== 'running') r.windows.clear();
    // Back from a stop: the stable time counts from now, not from the stop.
    else if (r.ec2 !== undefined && r.ec2 !== 'running') r.lastBadAt = Math.max(r.lastBadAt, at);
    r.ec2 = state;
  }

  function setHandover(s: PlannedHandoverSignal): void {
    const r = record(s.node, s.at);
    r.handover = s.deadline === undefined ? { cause: s.cause, at: s.at } : { cause: s.cause, at: s.at, deadline: s.deadline };
  }

  function snapshot(now: Timestamp): Snapshot {
    const snap = new Map<NodeId, Map<string, VantageView[]>>();
    for (const [node, r] of nodes) {
      const byTarget = new Map<string, VantageView[]>();
      for (const [target, byVantage] of r.windows) {
        const views: VantageView[] = [];
        for (const [vantage, w] of byVantage) {
          const stats = w.stats();
          if (stats.size > 0 && stats.latestAt >= now - p.staleAfterMs) views.push({ vantage, stats });
        }
        if (views.length > 0) byTarget.set(target, views);
      }
      if (byTarget.size > 0) snap.set(node, byTarget);
    }
    return snap;
  }

  function decide(node: NodeId, r: NodeRecord, snap: Snapshot, now: Timestamp): Outcome | undefined {
    if (r.ec2 !== undefined && r.ec2 !== 'running') {
      r.lastBadAt = now;
      return { state: 'unhealthy', code: 'ec2-not-running', reason: `EC2 state is ${r.ec2}` };
    }
    if (internetDown) {
      const entering = r.state !== 'internet-unreachable';
      if (entering) r.priorState = r.state;
      // A node that was not known good before the outage proves itself after it.
      if (r.priorState !== 'healthy') r.lastBadAt = now;
      return entering
        ? { state: 'internet-unreachable', code: 'internet-unreachable', reason: 'every node fails every target; no node blamed' }
        : undefined;
    }
    const base: VerdictState = r.state === 'internet-unreachable' ? r.priorState : r.state;
    if (r.silentSince !== undefined) {
      const s = silentEvidence(p, snap, node);
      if (isNodeFailing(s)) {
        r.lastBadAt = now;
        return {
          state: 'unhealthy',
          code: 'silent-unreachable',
          reason: `heartbeats lost since ${now - r.silentSince} ms and ${s.confirmed.length}/${s.targets} targets failing through it: ${s.detail}`,
        };
      }
    }
    const e = nodeEvidence(p, snap, node);
    if (isNodeFailing(e)) {
      r.lastBadAt = now;
      return {
        state: 'unhealthy',
        code: 'probes-failing',
        reason: `${e.confirmed.length}/${e.targets} targets failing from ≥${p.minVantages} vantages while another node reaches them: ${e.detail}`,
      };
    }
    if (base !== 'healthy' && isNodePassing(e) && now - r.lastBadAt >= p.minStableMs) {
      return {
        state: 'healthy',
        code: 'recovered',
        reason: `${e.passing.length}/${e.targets} targets passed ${p.passesToRecover} probes in a row; stable for ${now - r.lastBadAt} ms`,
      };
    }
    if (r.state === 'internet-unreachable') {
      return { state: base, code: 'internet-reachable', reason: `a node reaches a target again; back to ${base}` };
    }
    return undefined;
  }

  function evaluate(at: Timestamp): VerdictTransition[] {
    const now = Math.max(evaluatedAt, at);
    evaluatedAt = now;
    const snap = snapshot(now);
    if (!internetDown && everyoneFailsEverything(p, snap)) internetDown = true;
    else if (internetDown && someoneReachesSomething(p, snap)) internetDown = false;
    const out: VerdictTransition[] = [];
    for (const [node, r] of nodes) {
      const o = decide(node, r, snap, now);
      if (!o) continue;
      if (o.state !== r.state) {
        // Frozen: transitions() hands out these very objects, so callers can tell new ones by identity.
        const t: VerdictTransition = Object.freeze({ node, from: r.state, to: o.state, code: o.code, reason: o.reason, at: now });
        out.push(t);
        history.push(t);
        r.state = o.state;
        r.since = now;
      }
      // Keep the reason current (e.g. which targets fail) without a new transition.
      r.code = o.code;
      r.reason = o.reason;
    }
    if (history.length > TRANSITION_HISTORY_LIMIT) history.splice(0, history.length - TRANSITION_HISTORY_LIMIT);
    return out;
  }

  return {
    policy: p,
    observe(signal) {
      switch (signal.kind) {
        case 'probe':
          addProbe(signal);
          return evaluate(signal.at);
        case 'ec2-state':
          setEc2(signal.node, signal.state, signal.at);
          return evaluate(signal.at);
        case 'planned-handover':
          setHandover(signal);
          return [];
        case 'heartbeat-lost':
          record(signal.from, signal.at).silentSince = signal.at;
          return evaluate(signal.at);
        case 'heartbeat-received': {
          const r = nodes.get(signal.from);
          if (r) delete r.silentSince;
          return [];
        }
      }
    },
    verdicts(now) {
      evaluate(now);
      return [...nodes].map(([node, r]) => ({
        node,
        state: r.state,
        since: r.since,
        code: r.code,
        reason: r.reason,
        ...(r.handover ? { handover: { ...r.handover } } : {}),
      }));
    },
    transitions() {
      return [...history];
    },
    forget(node) {
      nodes.delete(node);
      const through: Vantage = `peer:${node}`;
      for (const r of nodes.values()) for (const byVantage of r.windows.values()) byVantage.delete(through);
    },
  };
}
