// The reconcile loop (DESIGN.md "How data flows"): observe → assess → plan → act →
// verify, level-triggered. A cycle runs only while this process holds the lease; it
// starts from what EC2 shows now and the current verdicts, never from a remembered
// event, so re-running it on a correct VPC makes no mutating call. wake() runs a cycle
// at once (a verdict change, a heartbeat loss, an event); otherwise every resyncMs.
// Wakes during a cycle coalesce into one more cycle.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../domain/clock.js';
import type { DecisionRecord, LeaseStore } from '../domain/ports/lease-store.js';
import { plan, type NodeHealth, type ObservedVpc, type Plan, type PlannerPolicy, type TransitionRecord } from '../domain/planner/index.js';
import type { NodeId, Timestamp } from '../domain/signals.js';
import type { NodeVerdict } from '../domain/verdict/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { ExecutionReport, Executor, Fence } from './executor.js';
import { DEFAULT_RESYNC_MS } from './defaults.js';
import { observeVpc, type ObserveConfig } from './observe.js';
import { applyIntents, intentsFrom } from './operator-intents.js';

export { DEFAULT_RESYNC_MS };
/** A handover notice without a deadline stops mattering after this long (e.g. a restarted agent). */
export const HANDOVER_VALID_MS = 5 * 60_000;
const TRANSITION_ACTIONS = new Set(['failover', 'failback', 'handover']);
/** Decisions read for the anti-flap window: more than maxTransitions per zone × zones. */
export const HISTORY_READ = 100;

export interface CycleReport {
  at: Timestamp;
  skipped?: string;
  observed?: ObservedVpc;
  plan?: Plan;
  execution?: ExecutionReport;
  error?: string;
}

export interface ControllerOptions {
  ec2: Pick<EC2Client, 'send'>;
  fence: Fence;
  decisionLog: Pick<LeaseStore, 'history'>;
  executor: Executor;
  observe: ObserveConfig;
  policy: PlannerPolicy;
  /** The verdicts now (this agent's tracker, or a standalone controller's). */
  verdicts: () => NodeVerdict[];
  clock: Clock;
  logger: Logger;
  resyncMs?: number;
}

/** Verdicts → what the planner weighs: health, healthy-since, and live handover notices. */
export function assess(verdicts: readonly NodeVerdict[], now: Timestamp): { health: Map<NodeId, NodeHealth>; handovers: Map<NodeId, NonNullable<NodeVerdict['handover']>> } {
  const health = new Map<NodeId, NodeHealth>();
  const handovers = new Map<NodeId, NonNullable<NodeVerdict['handover']>>();
  for (const v of verdicts) {
    health.set(v.node, { state: v.state, ...(v.state === 'healthy' ? { healthySince: v.since } : {}) });
    const h = v.handover;
    if (h && now < (h.deadline !== undefined ? h.deadline + 60_000 : h.at + HANDOVER_VALID_MS)) handovers.set(v.node, h);
  }
  return { health, handovers };
}

/** Earlier transitions per zone, from the decision log (for anti-flap). */
export function transitionsFrom(records: readonly DecisionRecord[]): TransitionRecord[] {
  return records.flatMap((r) => {
    const zone = r.detail?.['zone'];
    return TRANSITION_ACTIONS.has(r.action) && typeof zone === 'string' ? [{ zone, at: r.at }] : [];
  });
}

/**
 * Assess and plan: the verdicts, live handover notices and operator intents (from the
 * decision log) applied to what was observed (mutates its nodes' handover).
 */
export function planFromObservation(vpc: ObservedVpc, verdicts: readonly NodeVerdict[], records: readonly DecisionRecord[], policy: PlannerPolicy, now: Timestamp): Plan {
  const { health, handovers } = assess(verdicts, now);
  for (const n of vpc.nodes) {
    const h = handovers.get(n.id);
    if (h) n.handover = h;
  }
  const onlyVia = applyIntents(vpc, health, intentsFrom(records, now), policy.failbackAfterMs, now);
  return plan({ vpc, health, history: transitionsFrom(records), policy, now, ...(onlyVia.size ? { onlyVia } : {}) });
}

export function createController(opts: ControllerOptions) {
  const log = opts.logger;
  const resyncMs = opts.resyncMs ?? DEFAULT_RESYNC_MS;
  let running: Promise<CycleReport> | undefined;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = true;
  let last: CycleReport | undefined;

  async function cycleOnce(): Promise<CycleReport> {
    const at = opts.clock.now();
    if (!opts.fence.isLeader()) return { at, skipped: 'not the lease holder' };
    try {
      const observed = await observeVpc(opts.ec2, opts.observe);
      const p = planFromObservation(observed, opts.verdicts(), await opts.decisionLog.history(HISTORY_READ), opts.policy, opts.clock.now());
      if (!p.actions.length) return { at, observed, plan: p };
      const execution = await opts.executor.execute(p);
      log.info('cycle_acted', { calls: execution.mutatingCalls, zones: execution.zones, ...(execution.fencedOut ? { fencedOut: execution.fencedOut } : {}) });
      return { at, observed, plan: p, execution };
    } catch (e) {
      log.error('cycle_failed', { error: e as Error });
      return { at, error: (e as Error).message };
    }
  }

  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void run('resync'), resyncMs);
  };

  async function run(reason: string): Promise<CycleReport> {
    if (running) {
      again = true;
      return running;
    }
    log.debug('cycle_start', { reason });
    running = cycleOnce().finally(() => {
      running = undefined;
    });
    last = await running;
    if (again && !stopped) {
      again = false;
      return run('coalesced wake');
    }
    schedule();
    return last;
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      void run('start');
    },
    /** Run a cycle now (coalesced with one in progress). */
    wake(reason: string) {
      if (stopped) return;
      void run(reason);
    },
    /** One cycle, for the CLI and tests (also when not started). */
    cycle: () => run('requested'),
    lastReport: () => last,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export type Controller = ReturnType<typeof createController>;
