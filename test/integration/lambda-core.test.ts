// The Lambda's core against the lab's EC2 + Auto Scaling API (no namespaces) and a
// DynamoDB lease in dynalite: it fails over under its own token, stays out while an
// agent holds the lease, hands over on a Spot warning, completes a terminate lifecycle
// action once the instance carries no egress, ignores garbage, and two concurrent
// invocations never both act.
import { DescribeAutoScalingInstancesCommand, PutLifecycleHookCommand, TerminateInstanceInAutoScalingGroupCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instanceStateChangeEvent, lifecycleActionEvent, originOf, spotInterruptionEvent } from '../../lab/emulator/events/shapes.js';
import { createAutoScalingClient } from '../../src/aws/clients.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { systemClock } from '../../src/lease/clock.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { createLambdaCore, type LambdaOutcome } from '../../src/lambda/core.js';
import { createHandler } from '../../src/lambda/handler.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { DUMMY_CREDENTIALS, startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const TABLE = 'natkeeper-lambda';
const MUTATING = new Set(['DetachNetworkInterface', 'AttachNetworkInterface', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'CreateRoute', 'CompleteLifecycleAction']);

describe('the Lambda core in the lab', () => {
  let dynamo: DynaliteServer;
  let lab: ApiLab;
  let asg: AutoScalingClient;
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await new DynamoDbLeaseStore({ client: dynamo.client(), tableName: TABLE, clock: systemClock }).ensureTable();
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  afterEach(async () => {
    asg?.destroy();
    await lab?.close();
  });

  /** `onlyZone`: the Lambda's config manages that zone of the lab only (default: every zone). */
  async function setup(o: { onlyZone?: number } = {}) {
    // No replacements during a test: a stopped NAT is taken out of its group, not replaced.
    lab = await startApiLab({ autoScaling: true, topology: { autoScaling: { replacementDelayMs: 600_000 }, realism: { throttling: { enabled: false } } } });
    asg = createAutoScalingClient({ region: 'us-east-1', endpoint: lab.endpoint, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
    const leaseName = `lease-${++n}`;
    const config = parseAgentConfig(
      JSON.stringify({ region: 'us-east-1', lease: { table: TABLE, name: leaseName, ttlMs: 3_000, renewEveryMs: 1_000 }, controller: { vpcId: lab.manifest.vpcId, ...(o.onlyZone !== undefined ? { zones: [lab.manifest.zones[o.onlyZone]!.name] } : {}) } }),
      'test',
    );
    const store = () => new DynamoDbLeaseStore({ client: dynamo.client(), tableName: TABLE, leaseName, clock: systemClock });
    const logs: string[] = [];
    const emf: Record<string, unknown>[] = [];
    const core = () =>
      createLambdaCore({
        config,
        ec2: lab.ec2,
        autoscaling: asg,
        leaseStore: store(),
        holder: 'lambda:natkeeper-test',
        clock: systemClock,
        logger: createLogger({ write: (l) => logs.push(l), level: 'debug' }),
        emit: (l) => emf.push(JSON.parse(l) as Record<string, unknown>),
        pollMs: 20,
      });
    const [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    const eniA = lab.manifest.zones[0]!.floatingEniId!;
    return { core, store, logs, emf, a1, a2, eniA, origin: originOf(lab.store), leaseName, config };
  }

  const mutatingSeen = () => lab.api.requestLog.entries().filter((e) => MUTATING.has(e.action ?? '')).map((e) => e.action);
  const carrierOf = (eni: string) => lab.store.networkInterfaces.get(eni)?.attachment?.instanceId;
  const totals = (emf: Record<string, unknown>[]) => emf.filter((d) => !('Zone' in d));
  /** Stops a NAT with the group controller paused, so the group does not terminate it (yet). */
  async function stopped(id: string) {
    lab.autoScaling!.stop();
    lab.store.stopInstance(id);
    await until(`${id} stopped`, () => lab.store.instances.get(id)?.state === 'stopped', 5_000);
  }

  it('a stopped NAT carrying zone a’s floating ENI: moved to the standby, the decision logged under the Lambda’s token', async () => {
    const s = await setup();
    expect(carrierOf(s.eniA)).toBe(s.a1);
    await stopped(s.a1);
    lab.api.requestLog.clear();
    const out = await s.core()(instanceStateChangeEvent(s.origin, s.a1, 'stopped'), 'req-1');
    expect(out).toMatchObject({ requestId: 'req-1', event: 'instance-state', token: expect.any(Number) });
    expect(out.skipped).toBeUndefined();
    expect(out.decisions?.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'failover', strategy: 'eni-move', via: s.a2 });
    expect(out.executed).toEqual([expect.objectContaining({ zone: 'a', verified: true })]);
    expect(carrierOf(s.eniA)).toBe(s.a2);
    expect(mutatingSeen()).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface']);
    const [rec] = await s.store().history(1);
    expect(rec).toMatchObject({ holder: expect.stringMatching(/^lambda:natkeeper-test\/req-1\/[0-9a-f]{8}$/), action: 'failover', token: out.token, detail: expect.objectContaining({ zone: 'a', via: s.a2 }) });
    // Released at the end: nobody holds the lease.
    expect(await s.store().current()).toBeNull();
    expect(out.metrics).toMatchObject({ failovers: 1, failbacks: 0, leaseChanges: 1, leaseHeld: 0, zonesWithoutEgress: 0, apiThrottles: 0 });
    expect(out.metrics.outageSeconds).toBeGreaterThanOrEqual(0);
    expect(totals(s.emf)).toEqual([expect.objectContaining({ Failovers: 1, LeaseChanges: 1, LeaseHeld: 0, ZonesWithoutEgress: 0 })]);
    expect(s.emf.find((d) => d['Zone'] === 'a')).toMatchObject({ Failovers: 1, Failbacks: 0 });
    expect(s.logs.every((l) => JSON.parse(l).requestId === 'req-1')).toBe(true);
    // Level-triggered: the schedule a minute later changes nothing.
    lab.api.requestLog.clear();
    const again = await s.core()({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} }, 'req-2');
    expect(again.executed).toBeUndefined();
    expect(mutatingSeen()).toEqual([]);
  });

  it('a NAT its group terminated (the floating ENI left unattached): the standby gets it', async () => {
    const s = await setup();
    lab.store.stopInstance(s.a1);
    await until('the group terminated a1', () => lab.store.instances.get(s.a1)?.state === 'terminated', 5_000);
    expect(carrierOf(s.eniA)).toBeUndefined();
    lab.api.requestLog.clear();
    const out = await s.core()(instanceStateChangeEvent(s.origin, s.a1, 'terminated'), 'req-t');
    expect(out.decisions?.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'failover', strategy: 'eni-move', via: s.a2 });
    expect(mutatingSeen()).toEqual(['AttachNetworkInterface']);
    expect(carrierOf(s.eniA)).toBe(s.a2);
    expect(out.metrics).toMatchObject({ failovers: 1, zonesWithoutEgress: 0 });
  });

  it('a lease held by a live agent: skipped, zero mutating calls, LeaseHeld 1 and the zone without egress counted', async () => {
    const s = await setup();
    const agent = await s.store().acquire('i-0agent00000000000', 30_000);
    expect(agent.held).toBe(true);
    await stopped(s.a1);
    lab.api.requestLog.clear();
    const out = await s.core()(instanceStateChangeEvent(s.origin, s.a1, 'stopped'), 'req-held');
    expect(out.skipped).toBe('lease held by i-0agent00000000000');
    expect(mutatingSeen()).toEqual([]);
    expect(carrierOf(s.eniA)).toBe(s.a1);
    expect(out.metrics).toMatchObject({ leaseHeld: 1, zonesWithoutEgress: 1, leaseChanges: 0, failovers: 0 });
    expect(await s.store().current()).toMatchObject({ holder: 'i-0agent00000000000', token: agent.token });
  });

  it('a Spot interruption warning for the carrier: planned handover to the standby, no outage counted', async () => {
    const s = await setup();
    lab.api.requestLog.clear();
    const out = await s.core()(spotInterruptionEvent(s.origin, s.a1, 'terminate'), 'req-spot');
    expect(out.decisions?.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'handover', via: s.a2 });
    expect(carrierOf(s.eniA)).toBe(s.a2);
    expect(mutatingSeen()).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface']);
    expect(out.metrics).toMatchObject({ failovers: 1, outageSeconds: 0 });
  });

  /** A terminate hook on zone a's group, then a scale-in of `id`: its lifecycle token once it waits in Terminating:Wait. */
  async function scaleInIntoWait(id: string) {
    await asg.send(new PutLifecycleHookCommand({ AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'nat-drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300, DefaultResult: 'CONTINUE' }));
    await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: false }));
    const member = () => lab.store.autoScalingGroups.get('natkeeper-a')!.instances.find((m) => m.instanceId === id);
    const token = await until('Terminating:Wait', () => (member()?.lifecycleState === 'Terminating:Wait' ? member()!.pendingHook?.token : undefined), 5_000);
    return { token, member };
  }

  it('a terminate lifecycle action for the carrier: egress moved, then CONTINUE — the instance leaves Terminating:Wait', async () => {
    const s = await setup();
    const { token } = await scaleInIntoWait(s.a1);
    const event = lifecycleActionEvent(s.origin, {
      token,
      autoScalingGroupName: 'natkeeper-a',
      autoScalingGroupARN: lab.store.autoScalingGroups.get('natkeeper-a')!.autoScalingGroupARN,
      lifecycleHookName: 'nat-drain',
      instanceId: s.a1,
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
    lab.api.requestLog.clear();
    const out = await s.core()(event, 'req-term');
    expect(out.decisions?.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'handover', via: s.a2 });
    expect(carrierOf(s.eniA)).toBe(s.a2);
    expect(out.lifecycle).toEqual({ completed: true, reason: expect.stringContaining('CONTINUE') });
    expect(mutatingSeen()).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface', 'CompleteLifecycleAction']);
    const complete = lab.api.requestLog.entries().find((e) => e.action === 'CompleteLifecycleAction')!;
    expect(complete.params).toMatchObject({ LifecycleActionToken: token, LifecycleHookName: 'nat-drain', AutoScalingGroupName: 'natkeeper-a', LifecycleActionResult: 'CONTINUE' });
    const state = (await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [s.a1] }))).AutoScalingInstances?.[0]?.LifecycleState;
    expect(state).not.toBe('Terminating:Wait');
    await until('a1 terminated', () => lab.store.instances.get(s.a1)?.state === 'terminated', 5_000);
  });

  it('a terminate lifecycle action of a NAT in a zone this cluster does not manage: never completed', async () => {
    // Two natkeeper clusters may share a VPC: the Lambda of the one managing zone b only
    // must leave zone a's actions to zone a's owner.
    const s = await setup({ onlyZone: 1 });
    const { token, member } = await scaleInIntoWait(s.a1);
    lab.api.requestLog.clear();
    const out = await s.core()(
      lifecycleActionEvent(s.origin, { token, autoScalingGroupName: 'natkeeper-a', autoScalingGroupARN: 'arn:x', lifecycleHookName: 'nat-drain', instanceId: s.a1, transition: 'autoscaling:EC2_INSTANCE_TERMINATING' }),
      'req-term-other',
    );
    expect(out.lifecycle).toEqual({ completed: false, reason: expect.stringContaining('is not a natkeeper NAT of this VPC') });
    expect(mutatingSeen()).toEqual([]);
    expect(member()?.lifecycleState).toBe('Terminating:Wait');
  });

  it('a terminate lifecycle action while an agent leads: nothing moved, the action left open', async () => {
    const s = await setup();
    await s.store().acquire('i-0agent00000000000', 30_000);
    const { token, member } = await scaleInIntoWait(s.a1);
    lab.api.requestLog.clear();
    const out = await s.core()(
      lifecycleActionEvent(s.origin, { token, autoScalingGroupName: 'natkeeper-a', autoScalingGroupARN: 'arn:x', lifecycleHookName: 'nat-drain', instanceId: s.a1, transition: 'autoscaling:EC2_INSTANCE_TERMINATING' }),
      'req-term-held',
    );
    expect(out.skipped).toMatch(/lease held by i-0agent/);
    expect(out.lifecycle).toBeUndefined();
    expect(mutatingSeen()).toEqual([]);
    expect(member()?.lifecycleState).toBe('Terminating:Wait');
  });

  it('a launch lifecycle action: a cycle runs, the action is never completed by the Lambda', async () => {
    const s = await setup();
    lab.api.requestLog.clear();
    const out = await s.core()(
      lifecycleActionEvent(s.origin, { token: '11111111-2222-4333-8444-555555555555', autoScalingGroupName: 'natkeeper-a', autoScalingGroupARN: 'arn:x', lifecycleHookName: 'nat-launch', instanceId: s.a2, transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }),
      'req-launch',
    );
    expect(out).toMatchObject({ event: 'lifecycle-launch', lifecycle: { completed: false, reason: expect.stringContaining('self-test') } });
    expect(out.decisions?.every((d) => d.outcome === 'ok')).toBe(true);
    expect(mutatingSeen()).toEqual([]);
  });

  it('garbage events: ignored with a reason, no API call, no lease taken', async () => {
    const s = await setup();
    const before = await s.store().currentToken();
    lab.api.requestLog.clear();
    const garbage: unknown[] = [null, 'x', [], {}, { 'detail-type': 'Foo', source: 'aws.ec2', time: '2026-01-01T00:00:00Z', detail: {} }, { ...instanceStateChangeEvent(s.origin, s.a1, 'stopped'), detail: { 'instance-id': 'nope' } }];
    const outs: LambdaOutcome[] = [];
    for (const [i, g] of garbage.entries()) outs.push(await s.core()(g, `req-g${i}`));
    for (const o of outs) expect(o).toMatchObject({ event: 'ignored', ignored: expect.any(String) });
    expect(outs[4]!.ignored).toBe('unknown detail-type "Foo" from "aws.ec2"');
    expect(outs[5]!.ignored).toBe('detail.instance-id: expected an instance id like i-0123456789abcdef0');
    expect(lab.api.requestLog.entries()).toEqual([]);
    expect(await s.store().currentToken()).toBe(before);
    expect(s.logs.filter((l) => JSON.parse(l).event === 'event_ignored')).toHaveLength(garbage.length);
    expect(totals(s.emf)).toHaveLength(garbage.length);
    for (const d of s.emf) expect(d).not.toHaveProperty('LeaseHeld');
  });

  // The same request id twice at once is Lambda retrying an attempt that still runs (or
  // whose frozen container thawed): each attempt is a holder of its own.
  it.each([
    ['two concurrent invocations', 'req-x', 'req-y'],
    ['an async retry while the first attempt of the same request still runs', 'req-z', 'req-z'],
  ])('%s on the same failure: one set of calls, one decision', async (_name, idX, idY) => {
    const s = await setup();
    await stopped(s.a1);
    lab.api.requestLog.clear();
    const event = instanceStateChangeEvent(s.origin, s.a1, 'stopped');
    const [x, y] = await Promise.all([s.core()(event, idX), s.core()(event, idY)]);
    expect(mutatingSeen()).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface']);
    const acted = [x, y].filter((o) => o.executed?.length);
    expect(acted).toHaveLength(1);
    const other = acted[0] === x ? y : x;
    // Either it found the lease taken, or it came after and found nothing to do.
    expect(other.skipped ?? (other.executed === undefined ? 'nothing to do' : 'acted')).toMatch(/lease held by lambda:natkeeper-test\/req-[xyz]\/[0-9a-f]{8}|nothing to do/);
    const failovers = (await s.store().history(10)).filter((r) => r.action === 'failover');
    expect(failovers).toHaveLength(1);
    expect(carrierOf(s.eniA)).toBe(s.a2);
  });

  it('the handler from its environment: endpoints from NATKEEPER_CONFIG, a schedule event, EMF on its output', async () => {
    const s = await setup();
    await stopped(s.a1);
    const lines: string[] = [];
    const cfg = { region: 'us-east-1', endpoints: { ec2: lab.endpoint, autoscaling: lab.endpoint, dynamodb: dynamo.endpoint }, lease: { table: TABLE, name: s.leaseName, ttlMs: 3_000, renewEveryMs: 1_000 }, controller: { vpcId: lab.manifest.vpcId } };
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    process.env['AWS_ACCESS_KEY_ID'] = DUMMY_CREDENTIALS.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = DUMMY_CREDENTIALS.secretAccessKey;
    try {
      const handler = createHandler({ NATKEEPER_CONFIG: JSON.stringify(cfg), AWS_LAMBDA_FUNCTION_NAME: 'nk-fn', NATKEEPER_METRICS_NAMESPACE: 'NatKeeperTest' }, (l) => lines.push(l));
      const out = await handler({ version: '0', id: 'e-1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} }, { awsRequestId: 'aws-req-1' });
      expect(out).toMatchObject({ requestId: 'aws-req-1', event: 'schedule', metrics: { failovers: 1 } });
      expect(carrierOf(s.eniA)).toBe(s.a2);
      expect((await s.store().history(1))[0]).toMatchObject({ holder: expect.stringMatching(/^lambda:nk-fn\/aws-req-1\//) });
      const emfLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((d) => '_aws' in d);
      expect(emfLines.map((d) => (d['_aws'] as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace)).toEqual(['NatKeeperTest', 'NatKeeperTest']);
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
