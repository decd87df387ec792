// The fenced executor: every mutating EC2 call of a plan goes through here.
//
// Per zone decision: (1) the lease must be held with validity above the safety margin;
// (2) the decision is appended to the decision log with the current fencing token — a
// conditional write that a deposed leader's stale token fails, so it stops before any
// call; (3) each call re-checks the lease locally — held, and still under the token the
// decision was logged with (a leader that lost the lease and won it back does not carry
// on with a plan from its earlier term) — takes a token from a client-side bucket sized
// like EC2's mutating bucket, and is retried on throttling and 5xx with jittered backoff;
// the same check runs again as the SDK's innermost step, right before the request goes
// on the wire, so a process paused inside the SDK (GC, SIGSTOP) past its lease does not
// send the call when it resumes; (4) the zone's result is verified by describing again,
// tolerating eventual consistency. Work that is already in effect is skipped: the planner only
// emits what differs from the observation, and retried calls accept "already so"
// answers (a detach of a gone attachment, an attach that is already ours).
import {
  AttachNetworkInterfaceCommand,
  DescribeRouteTablesCommand,
  DetachNetworkInterfaceCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { describeEni, waitForEni } from '../aws/node-setup.js';
import { withAwsRetry, type AwsRetryOptions } from '../aws/retry.js';
import type { ClientThrottle } from '../aws/throttle.js';
import type { Clock } from '../domain/clock.js';
import type { JsonValue, LeaseStore } from '../domain/ports/lease-store.js';
import type { Action, Plan, RouteTarget, ZoneDecision } from '../domain/planner/index.js';
import type { NodeId } from '../domain/signals.js';
import type { Logger } from '../telemetry/logger.js';
import { addAttemptMiddleware } from '../aws/middleware.js';

/** What the executor needs of leadership (src/agent/leadership.ts). */
export interface Fence {
  isLeader(): boolean;
  token(): number | undefined;
}

export interface ExecutorOptions {
  ec2: Pick<EC2Client, 'send'>;
  fence: Fence;
  decisionLog: Pick<LeaseStore, 'append'>;
  holder: NodeId;
  throttle: ClientThrottle;
  clock: Clock;
  logger: Logger;
  retry?: AwsRetryOptions;
  /** ENI waits and verification: bound and poll interval. Defaults 30 s and 250 ms. */
  waitTimeoutMs?: number;
  pollMs?: number;
  /** Route replaces in flight at once within a zone (the throttle still paces them). Default 8. */
  concurrency?: number;
  /** Called once per mutating call sent (metrics, tests). */
  onCall?: (action: string) => void;
}

export interface ZoneResult {
  zone: string;
  outcome: ZoneDecision['outcome'];
  strategy?: string;
  via?: string;
  applied: number;
  /** The describe after the calls showed the intended state. */
  verified: boolean;
  error?: string;
  /** Decision log sequence number. */
  seq?: number;
}

export interface ExecutionReport {
  zones: ZoneResult[];
  mutatingCalls: number;
  /** Set when the executor stopped because the lease was lost or the token went stale. */
  fencedOut?: string;
}

export class FencedOut extends Error {
  override name = 'FencedOut';
}

const targetParams = (t: RouteTarget) => (t.kind === 'nat-gateway' ? { NatGatewayId: t.id } : t.kind === 'eni' ? { NetworkInterfaceId: t.id } : t.kind === 'instance' ? { InstanceId: t.id } : {});
const errName = (e: unknown) => (e as { name?: string }).name ?? '';

function summary(a: Action): JsonValue {
  switch (a.kind) {
    case 'detach-eni':
      return { kind: a.kind, eni: a.eniId, from: a.from };
    case 'attach-eni':
      return { kind: a.kind, eni: a.eniId, to: a.to };
    case 'replace-route':
      return { kind: a.kind, table: a.routeTableId, to: a.target.kind === 'none' ? 'none' : a.target.id };
    case 'replace-association':
      return { kind: a.kind, subnet: a.subnetId, table: a.routeTableId };
  }
}

/**
 * The command with `check` run as its last step before each SDK attempt is sent (after
 * the SDK's own retry delays): a check that throws stops the request. This is how a
 * mutating call is fenced at the moment it leaves, not only when it was planned.
 */
export function checkedBeforeSend<C extends { middlewareStack: { add: unknown } }>(command: C, check: () => void): C {
  addAttemptMiddleware(
    command.middlewareStack,
    (next) => (args) => {
      check();
      return next(args);
    },
    { priority: 'low', name: 'natkeeperFence' },
  );
  return command;
}

export function createExecutor(opts: ExecutorOptions) {
  const log = opts.logger;
  const waits = { attachTimeoutMs: opts.waitTimeoutMs ?? 30_000, pollIntervalMs: opts.pollMs ?? 250, clock: opts.clock, log, ...(opts.retry ? { retry: opts.retry } : {}) };
  let calls = 0;

  /** The lease is held, under the token `term` (the one the decision was logged with) when given. */
  const guard = (term?: number) => {
    const token = opts.fence.token();
    if (!opts.fence.isLeader() || token === undefined) throw new FencedOut('the lease is not held (or too close to expiry) — stopping before the next call');
    if (term !== undefined && token !== term) throw new FencedOut(`the lease was lost and taken again (token ${term} → ${token}): this plan belongs to the earlier term`);
  };

  /** The command, with the fence checked once more as its last step before the request is sent (each SDK attempt). */
  const fenced = <C extends { middlewareStack: { add: unknown } }>(command: C, term: number): C => checkedBeforeSend(command, () => guard(term));

  /** One mutating call: lease check, throttle, retry. */
  async function mutate<T>(name: string, term: number, send: () => Promise<T>, alreadySo?: (e: unknown) => Promise<boolean> | boolean): Promise<void> {
    guard(term);
    try {
      await withAwsRetry(
        async () => {
          await opts.throttle.take();
          guard(term);
          calls++;
          opts.onCall?.(name);
          return send();
        },
        { ...(opts.retry ? { retry: opts.retry } : {}), log },
      );
    } catch (e) {
      if (alreadySo && (await alreadySo(e))) return;
      throw e;
    }
  }

  async function run(a: Action, term: number): Promise<void> {
    const ec2 = opts.ec2;
    switch (a.kind) {
      case 'detach-eni':
        // Forced: the instance it leaves may be dead or hung. A gone attachment is already detached.
        await mutate(
          'DetachNetworkInterface',
          term,
          () => ec2.send(fenced(new DetachNetworkInterfaceCommand({ AttachmentId: a.attachmentId, Force: true }), term)),
          (e) => errName(e) === 'InvalidAttachmentID.NotFound',
        );
        await waitForEni(ec2, a.eniId, waits, 'available', (e) => e.Status === 'available' && e.Attachment === undefined);
        return;
      case 'attach-eni':
        await mutate(
          'AttachNetworkInterface',
          term,
          () => ec2.send(fenced(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: a.eniId, InstanceId: a.to, DeviceIndex: a.deviceIndex }), term)),
          async (e) => errName(e) === 'InvalidNetworkInterface.InUse' && (await describeEni(ec2, a.eniId, waits)).Attachment?.InstanceId === a.to,
        );
        return;
      case 'replace-route':
        await mutate('ReplaceRoute', term, () => ec2.send(fenced(new ReplaceRouteCommand({ RouteTableId: a.routeTableId, DestinationCidrBlock: '0.0.0.0/0', ...targetParams(a.target) }), term)));
        return;
      case 'replace-association':
        await mutate('ReplaceRouteTableAssociation', term, () => ec2.send(fenced(new ReplaceRouteTableAssociationCommand({ AssociationId: a.associationId, RouteTableId: a.routeTableId }), term)));
    }
  }


  /** Describes again until the zone's calls show (routes to their targets, the ENI attached); false after the bound. */
  async function verify(d: ZoneDecision): Promise<boolean> {
    const routes = d.actions.filter((a) => a.kind === 'replace-route');
    const attach = d.actions.find((a) => a.kind === 'attach-eni');
    try {
      if (attach) await waitForEni(opts.ec2, attach.eniId, waits, `attached to ${attach.to}`, (e) => e.Attachment?.InstanceId === attach.to && e.Attachment.Status === 'attached');
      if (!routes.length) return true;
      const want = new Map(routes.map((r) => [r.routeTableId, r.target]));
      const deadline = opts.clock.now() + waits.attachTimeoutMs;
      for (;;) {
        const out = await withAwsRetry(() => opts.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [...want.keys()] })), { log });
        for (const t of out.RouteTables ?? []) {
          const r = t.Routes?.find((x) => x.DestinationCidrBlock === '0.0.0.0/0');
          const target = want.get(t.RouteTableId ?? '');
          if (!r || !target || target.kind === 'none' || target.kind === 'other') continue;
          const got = target.kind === 'eni' ? r.NetworkInterfaceId : target.kind === 'nat-gateway' ? r.NatGatewayId : r.InstanceId;
          if (got === target.id) want.delete(t.RouteTableId!);
        }
        if (!want.size) return true;
        if (opts.clock.now() > deadline) return false;
        await new Promise((res) => setTimeout(res, waits.pollIntervalMs));
      }
    } catch (e) {
      log.warn('verify_failed', { zone: d.zone, error: e as Error });
      return false;
    }
  }

  async function runAll(actions: Action[], term: number): Promise<void> {
    // ENI steps in order; route replaces and association swaps in parallel (the throttle paces them).
    const ordered = actions.filter((a) => a.kind === 'detach-eni' || a.kind === 'attach-eni');
    for (const a of ordered) await run(a, term);
    const rest = actions.filter((a) => a.kind !== 'detach-eni' && a.kind !== 'attach-eni');
    let next = 0;
    const worker = async () => {
      while (next < rest.length) await run(rest[next++]!, term);
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, rest.length) }, worker));
  }

  return {
    mutatingCalls: () => calls,
    async execute(plan: Plan): Promise<ExecutionReport> {
      const start = calls;
      const zones: ZoneResult[] = [];
      for (const d of plan.decisions) {
        if (!d.actions.length) continue;
        const base = { zone: d.zone, outcome: d.outcome, ...(d.strategy ? { strategy: d.strategy } : {}), ...(d.via ? { via: d.via } : {}) };
        try {
          guard();
          const term = opts.fence.token()!;
          const rec = await opts.decisionLog.append(
            { holder: opts.holder, action: d.outcome, detail: { zone: d.zone, strategy: d.strategy ?? null, via: d.via ?? null, reason: d.reason, actions: d.actions.map(summary) } },
            term,
          );
          log.info('decision', { zone: d.zone, outcome: d.outcome, strategy: d.strategy, via: d.via, reason: d.reason, token: rec.token, seq: rec.seq, actions: d.actions.length });
          await runAll(d.actions, term);
          const verified = await verify(d);
          zones.push({ ...base, applied: d.actions.length, verified, seq: rec.seq });
        } catch (e) {
          const stale = (e as { code?: string }).code === 'STALE_TOKEN';
          if (e instanceof FencedOut || stale) {
            const why = stale ? `fencing token ${opts.fence.token()} is stale: another controller took over` : (e as Error).message;
            log.warn('fenced_out', { zone: d.zone, reason: why });
            zones.push({ ...base, applied: 0, verified: false, error: why });
            return { zones, mutatingCalls: calls - start, fencedOut: why };
          }
          log.error('zone_action_failed', { zone: d.zone, error: e as Error });
          zones.push({ ...base, applied: 0, verified: false, error: (e as Error).message });
        }
      }
      return { zones, mutatingCalls: calls - start };
    },
  };
}

export type Executor = ReturnType<typeof createExecutor>;
