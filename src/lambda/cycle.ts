// One reconcile cycle of the shared controller code, for one Lambda invocation:
//   acquire the lease once (a live holder other than this invocation — an agent leader —
//   means the agents act: skip) → observe → verdicts from EC2/Auto Scaling and the
//   event (verdicts.ts) → planFromObservation → the agents' fenced executor under this
//   invocation's token → (terminate lifecycle action) complete it once the instance
//   carries no egress → release the lease.
// Each invocation attempt holds the lease as `<holder>/<requestId>/<attempt>` (attempt: a
// random id of this run), so two concurrent invocations are two holders and only one of
// them acts. The attempt part matters because Lambda retries an async invocation with the
// same request id: were the holder only `<holder>/<requestId>`, the retry's acquire would
// extend the earlier attempt's lease under the same token (the store treats it as the
// same holder), and an earlier attempt that is still running — a timed-out run whose
// frozen container thaws, or a slow one — would pass the fence again next to the retry.
// A retry waits for that lease to expire instead (seconds; Lambda retries after minutes).
//
// OutageSecondsEstimated, for an executed unplanned failover: from the triggering
// event's time to the end of the executed action (verified). For a state-change or
// lifecycle event about the failed NAT that is when EC2/Auto Scaling saw it go; for the
// schedule or an event about another node it is a lower bound (the failure came
// earlier, up to the schedule's minute). Planned handovers count 0: egress moved while
// the NAT still worked.
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config/errors.js';
import { createClientThrottle, EC2_MUTATING_BUCKET } from '../aws/throttle.js';
import { createExecutor, FencedOut, type ExecutionReport, type Fence } from '../controller/executor.js';
import { HISTORY_READ, planFromObservation } from '../controller/loop.js';
import { observeVpc, type ObserveConfig } from '../controller/observe.js';
import type { ObservedVpc, Plan } from '../domain/planner/index.js';
import type { LambdaDeps, LambdaOutcome } from './core.js';
import { egressCarriedBy, zonesWithoutEgress } from './egress.js';
import type { HandledEvent } from './events.js';
import { acquireLeaseSession, type LeaseSession } from './lease-session.js';
import { completeTermination, type LifecycleOutcome } from './lifecycle.js';
import type { LambdaMetrics, ZoneMetrics } from './metrics.js';
import type { ThrottleCounter } from './throttles.js';
import { deriveVerdicts, describeAsgStates, noticeOf } from './verdicts.js';
import { VPC_ID_REQUIRED } from './config.js';
import { observeConfigFrom, plannerPolicyFrom } from '../controller/from-config.js';

export interface CycleDeps extends LambdaDeps {
  throttles: ThrottleCounter;
  requestId: string;
}

export type CycleOutcome = Omit<LambdaOutcome, 'requestId' | 'event' | 'metrics'>;

export interface CycleResult {
  outcome: CycleOutcome;
  metrics: LambdaMetrics;
  /** An operational failure (AWS API, lease store): the caller rethrows it. */
  error?: Error;
}


/** The ObserveConfig of the Lambda's config; a ConfigError when controller.vpcId is missing. */
export function observeConfigOf(c: LambdaDeps['config']['controller']): ObserveConfig {
  if (!c.vpcId) throw new ConfigError(VPC_ID_REQUIRED, [VPC_ID_REQUIRED]);
  return observeConfigFrom(c, c.vpcId);
}

/** Per zone moved by the executor: failovers, failbacks, estimated outage. */
export function zoneMetricsOf(plan: Plan, execution: ExecutionReport, outageFrom: number, end: number): ZoneMetrics[] {
  return execution.zones.flatMap((z): ZoneMetrics[] => {
    if (z.error || !z.applied) return [];
    const outcome = plan.decisions.find((d) => d.zone === z.zone)?.outcome ?? z.outcome;
    const away = outcome === 'failover' || outcome === 'handover';
    if (!away && outcome !== 'failback') return [];
    return [{ zone: z.zone, failovers: away ? 1 : 0, failbacks: away ? 0 : 1, outageSeconds: outcome === 'failover' ? Math.max(0, Math.round((end - outageFrom) / 1000)) : 0 }];
  });
}

export async function runLambdaCycle(d: CycleDeps, event: HandledEvent): Promise<CycleResult> {
  const log = d.logger;
  const ec2 = d.throttles.wrap(d.ec2);
  const autoscaling = d.throttles.wrap(d.autoscaling);
  const c = d.config.controller;
  const metrics: LambdaMetrics = { failovers: 0, failbacks: 0, outageSeconds: 0, leaseChanges: 0, apiThrottles: 0, zones: [] };
  const outcome: CycleOutcome = {};
  const holder = `${d.holder}/${d.requestId}/${randomBytes(4).toString('hex')}`;
  let session: LeaseSession | undefined;
  let error: Error | undefined;
  let observed: ObservedVpc | undefined;
  try {
    const observe = observeConfigOf(c);
    session = await acquireLeaseSession({
      store: d.leaseStore,
      holder,
      ttlMs: d.config.lease.ttlMs,
      renewEveryMs: d.config.lease.renewEveryMs,
      clock: d.clock,
      logger: log,
      siblingPrefix: `${d.holder}/`,
      ...(d.siblingWaitMs !== undefined ? { siblingWaitMs: d.siblingWaitMs } : {}),
    });
    if (!session.held) {
      outcome.skipped = `lease held by ${session.holder}`;
      log.info('cycle_skipped', { reason: outcome.skipped });
      // An event with its own news (a notice, a lifecycle token) must not be dropped because
      // a sibling invocation was still busy: fail so Lambda's async retry brings it back.
      if (session.sibling && noticeOf(event)) error = new Error(`${outcome.skipped}, another invocation of this Lambda, past the wait: the ${event.kind} event is retried`);
      observed = await observeVpc(ec2, observe);
    } else {
      const fence = session.fence;
      outcome.token = session.token;
      metrics.leaseChanges = session.newToken ? 1 : 0;
      observed = await observeVpc(ec2, observe);
      const asg = await describeAsgStates(autoscaling, observed.nodes.map((n) => n.id), log);
      const now = d.clock.now();
      const verdicts = deriveVerdicts(observed.nodes, asg, noticeOf(event), now);
      const plan = planFromObservation(observed, verdicts, await d.leaseStore.history(HISTORY_READ), plannerPolicyFrom(c), now);
      outcome.decisions = plan.decisions.map((x) => ({ zone: x.zone, outcome: x.outcome, reason: x.reason, ...(x.strategy ? { strategy: x.strategy } : {}), ...(x.via ? { via: x.via } : {}) }));
      for (const x of plan.decisions) if (x.outcome === 'held' || x.outcome === 'no-egress') log.warn('zone_' + x.outcome.replace('-', '_'), { zone: x.zone, reason: x.reason });
      if (plan.actions.length) {
        const executor = createExecutor({
          ec2,
          fence,
          decisionLog: d.leaseStore,
          holder,
          throttle: createClientThrottle({ ...EC2_MUTATING_BUCKET, clock: d.clock }),
          clock: d.clock,
          logger: log,
          ...(d.pollMs !== undefined ? { pollMs: d.pollMs } : {}),
        });
        const execution = await executor.execute(plan);
        const end = d.clock.now();
        outcome.executed = execution.zones;
        outcome.mutatingCalls = execution.mutatingCalls;
        if (execution.fencedOut) outcome.fencedOut = execution.fencedOut;
        metrics.zones = zoneMetricsOf(plan, execution, Math.min(event.time, end), end);
        const failed = execution.zones.filter((z) => z.error && !execution.fencedOut);
        // The executor reports a zone's API failure instead of throwing; the Lambda rethrows
        // so its async retry runs the (level-triggered) cycle again.
        if (failed.length) error = new Error(`egress change failed: ${failed.map((z) => `zone ${z.zone}: ${z.error}`).join('; ')}`);
        observed = await observeVpc(ec2, observe);
      }
      if (event.kind === 'lifecycle-terminate' && !error) outcome.lifecycle = await terminateIfFree(d, autoscaling, event, observed, fence, outcome.fencedOut);
    }
    if (event.kind === 'lifecycle-launch') {
      // Never completed here: the new node's agent completes it after its self-test.
      outcome.lifecycle = { completed: false, reason: 'a launch action is completed by the new node’s agent after its self-test' };
    }
  } catch (e) {
    error = e instanceof FencedOut ? undefined : (e as Error);
    if (e instanceof FencedOut) outcome.fencedOut = e.message;
  } finally {
    if (session?.held) await session.release();
  }
  try {
    metrics.leaseHeld = (await d.leaseStore.current()) !== null ? 1 : 0;
  } catch (e) {
    error ??= e as Error;
  }
  if (observed) metrics.zonesWithoutEgress = zonesWithoutEgress(observed).length;
  for (const z of metrics.zones) {
    metrics.failovers += z.failovers;
    metrics.failbacks += z.failbacks;
    metrics.outageSeconds += z.outageSeconds;
  }
  metrics.apiThrottles = d.throttles.count();
  return { outcome, metrics, ...(error ? { error } : {}) };
}

async function terminateIfFree(
  d: CycleDeps,
  autoscaling: CycleDeps['autoscaling'],
  event: Extract<HandledEvent, { kind: 'lifecycle-terminate' }>,
  after: ObservedVpc,
  fence: Fence,
  fencedOut: string | undefined,
): Promise<LifecycleOutcome> {
  const log = d.logger.child({ node: event.instanceId });
  let why: string | undefined;
  // Only a NAT of this VPC (tagged, observed): an action of any other instance — another
  // team's group, a rule that matches too much — is never natkeeper's to complete.
  if (!after.nodes.some((n) => n.id === event.instanceId)) why = `${event.instanceId} is not a natkeeper NAT of this VPC: its lifecycle action is not natkeeper's to complete`;
  else {
    const carried = egressCarriedBy(after, event.instanceId);
    if (carried) why = `it still carries egress (${carried}); Auto Scaling's heartbeat timeout is the backstop`;
    else if (fencedOut || !fence.isLeader()) why = `the lease was lost during the cycle${fencedOut ? ` (${fencedOut})` : ''}: the lease holder decides`;
  }
  if (why) {
    log.warn('lifecycle_left_open', { group: event.groupName, hook: event.hookName, reason: why });
    return { completed: false, reason: why };
  }
  return completeTermination(autoscaling, event, fence, log);
}
