// The Lambda's core, with every dependency injected (the handler builds them from the
// environment; the lab runner and the tests point them at the lab and dynalite):
// parse the event → (bad input: log, ignore, never throw) → one reconcile cycle under
// the lease (src/lambda/cycle.ts) → JSON logs and one set of EMF metric lines.
//
// What the Lambda can and cannot know: it sees no data path, only EC2 and Auto Scaling
// (src/lambda/verdicts.ts). So it fails over away from NATs that EC2 or an event
// condemns (not running, Spot interruption, rebalance, terminate lifecycle action) and
// never fails back: failback needs observed health over time, which only agents give.
// When an agent holds the lease, the Lambda does nothing (the agents act).
//
// Errors: bad input → { ignored: reason }. An AWS API failure during the cycle is
// logged, counted and rethrown, so Lambda's async retry runs the (level-triggered,
// idempotent) cycle again.
import { randomUUID } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AgentConfig } from '../config/agent-config.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { Logger } from '../telemetry/logger.js';
import type { ZoneResult } from '../controller/executor.js';
import type { ZoneDecision } from '../domain/planner/index.js';
import { parseEvent, type LambdaEvent } from './events.js';
import { observeConfigOf, runLambdaCycle } from './cycle.js';
import { metricsLines, type LambdaMetrics } from './metrics.js';
import { isNatOfVpc } from './relevance.js';
import { createThrottleCounter } from './throttles.js';
import { DEFAULT_METRICS_NAMESPACE } from './config.js';

export interface LambdaDeps {
  /** Validated NATKEEPER_CONFIG; controller.vpcId must be set. */
  config: AgentConfig;
  ec2: Pick<EC2Client, 'send'>;
  autoscaling: Pick<AutoScalingClient, 'send'>;
  leaseStore: LeaseStore;
  /** The lease holder name (NATKEEPER_HOLDER, default lambda:<function name>); each invocation attempt holds the lease as `<holder>/<requestId>/<attempt>` (src/lambda/cycle.ts). */
  holder: string;
  clock: Clock;
  logger: Logger;
  /** Writes one EMF line (stdout in Lambda: CloudWatch Logs turns it into metrics). */
  emit(metricsLine: string): void;
  /** CloudWatch namespace of the EMF metrics. Default NatKeeper. */
  metricsNamespace?: string;
  /** Throttling errors seen by clients the core does not wrap (the lease store's DynamoDB client): read and reset once per invocation. */
  takeExtraThrottles?: () => number;
  /** How long an invocation waits for a sibling invocation's lease (tests). Default 20 s. */
  siblingWaitMs?: number;
  /** Executor ENI wait/verify poll interval (tests). Default the executor's 250 ms. */
  pollMs?: number;
}

/** What one invocation did. */
export interface LambdaOutcome {
  requestId: string;
  /** The parsed event's kind ('ignored' for bad input). */
  event: LambdaEvent['kind'];
  /** Bad input: why it was ignored (nothing was called). */
  ignored?: string;
  /** The cycle did not run: why (e.g. "lease held by i-0abc…"). */
  skipped?: string;
  /** The fencing token this invocation held the lease with. */
  token?: number;
  /** The planner's decisions (zones with actions and zones without). */
  decisions?: Pick<ZoneDecision, 'zone' | 'outcome' | 'strategy' | 'via' | 'reason'>[];
  /** What the executor did per zone with actions. */
  executed?: ZoneResult[];
  mutatingCalls?: number;
  fencedOut?: string;
  /** For a lifecycle action event: completed (terminate, egress gone) or why not. */
  lifecycle?: { completed: boolean; reason: string };
  metrics: LambdaMetrics;
}

/** The metrics of an invocation that ran no cycle. */
const noMoves = (apiThrottles: number): LambdaMetrics => ({ failovers: 0, failbacks: 0, outageSeconds: 0, leaseChanges: 0, apiThrottles, zones: [] });

export type LambdaCore = (event: unknown, requestId?: string) => Promise<LambdaOutcome>;

/** Throws (naming the field) when the config lacks what the Lambda needs: controller.vpcId. */
export function createLambdaCore(deps: LambdaDeps): LambdaCore {
  observeConfigOf(deps.config.controller);
  const namespace = deps.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
  return async (raw, requestId) => {
    // Unique per invocation: it names this invocation's lease holder.
    const id = requestId ?? `local-${randomUUID()}`;
    const log = deps.logger.child({ requestId: id });
    const throttles = createThrottleCounter();
    const emitMetrics = (m: LambdaMetrics) => {
      for (const line of metricsLines(namespace, m, deps.clock.now())) deps.emit(line);
    };
    /** The counters of an invocation that ran no cycle, emitted. */
    const emitWithoutCycle = () => {
      const m = noMoves(throttles.count() + (deps.takeExtraThrottles?.() ?? 0));
      emitMetrics(m);
      return m;
    };
    const event = parseEvent(raw);
    if (event.kind === 'ignored') {
      log.warn('event_ignored', { reason: event.reason });
      // Bad input makes no API call (a flood of junk costs nothing against API limits):
      // only the counters that need none are emitted; LeaseHeld and ZonesWithoutEgress
      // come from the every-minute schedule.
      return { requestId: id, event: 'ignored', ignored: event.reason, metrics: emitWithoutCycle() };
    }
    log.info('event_received', { kind: event.kind, ...('instanceId' in event ? { node: event.instanceId } : {}), time: new Date(event.time).toISOString() });
    if ('instanceId' in event) {
      // Every event about an instance, lifecycle actions included: a lifecycle action of an
      // instance that is not one of this VPC's NATs is never natkeeper's to complete.
      const vpcId = deps.config.controller.vpcId!;
      let ours: boolean;
      try {
        ours = await isNatOfVpc(throttles.wrap(deps.ec2), vpcId, event.instanceId);
      } catch (e) {
        log.error('invocation_failed', { error: e as Error, apiThrottles: emitWithoutCycle().apiThrottles });
        throw e;
      }
      if (!ours) {
        const skipped = `${event.instanceId} is not a natkeeper NAT of ${vpcId}`;
        log.info('event_not_ours', { reason: skipped });
        return { requestId: id, event: event.kind, skipped, metrics: emitWithoutCycle() };
      }
    }
    const result = await runLambdaCycle({ ...deps, logger: log, throttles, requestId: id }, event);
    const metrics: LambdaMetrics = { ...result.metrics, apiThrottles: result.metrics.apiThrottles + (deps.takeExtraThrottles?.() ?? 0) };
    emitMetrics(metrics);
    const outcome: LambdaOutcome = { requestId: id, event: event.kind, ...result.outcome, metrics };
    if (result.error) {
      log.error('invocation_failed', { error: result.error, apiThrottles: metrics.apiThrottles });
      throw result.error;
    }
    log.info('invocation_done', { skipped: outcome.skipped, token: outcome.token, mutatingCalls: outcome.mutatingCalls, lifecycle: outcome.lifecycle });
    return outcome;
  };
}
