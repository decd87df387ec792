// The core's error handling with an in-memory lease: bad input never throws and makes no
// call; an AWS failure during the cycle is logged, counted and rethrown, with the
// lease released and the metrics still emitted.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { ManualClock } from '../../src/lease/clock.js';
import { MemoryLeaseStore } from '../../src/lease/memory.js';
import { createLambdaCore } from '../../src/lambda/core.js';
import { createLogger } from '../../src/telemetry/logger.js';

const config = parseAgentConfig(JSON.stringify({ controller: { vpcId: 'vpc-0123456789abcdef0' } }), 'test');
const schedule = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-01-01T00:00:00Z', detail: {} };

function make(send: (cmd: unknown) => Promise<unknown>, extra: { siblingWaitMs?: number } = {}) {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:05Z'));
  const store = new MemoryLeaseStore({ clock });
  const calls: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const emf: Record<string, unknown>[] = [];
  const client = {
    send: (cmd: unknown) => {
      calls.push((cmd as object).constructor.name);
      return send(cmd);
    },
  };
  const core = createLambdaCore({
    config,
    ec2: client as never,
    autoscaling: client as never,
    leaseStore: store,
    holder: 'lambda:t',
    clock,
    logger: createLogger({ write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>), now: () => clock.now() }),
    emit: (l) => emf.push(JSON.parse(l) as Record<string, unknown>),
    ...extra,
  });
  return { core, store, calls, logs, emf };
}

describe('createLambdaCore', () => {
  it('bad input: { ignored }, no call, no lease, counters emitted without LeaseHeld', async () => {
    const t = make(async () => ({}));
    const out = await t.core({ nope: true }, 'r-1');
    expect(out).toMatchObject({ requestId: 'r-1', event: 'ignored', ignored: 'detail-type: expected a string' });
    expect(t.calls).toEqual([]);
    expect(await t.store.currentToken()).toBe(0);
    expect(t.emf).toEqual([expect.objectContaining({ Failovers: 0, LeaseChanges: 0, ApiThrottles: 0 })]);
    expect(t.emf[0]).not.toHaveProperty('LeaseHeld');
    expect(t.logs).toEqual([expect.objectContaining({ event: 'event_ignored', requestId: 'r-1', level: 'warn' })]);
  });

  it('an AWS failure during the cycle: logged, throttles counted, rethrown; the lease released, metrics emitted', async () => {
    const t = make(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    });
    // Throttling is retried by nobody here (observe sends once): the error reaches the handler.
    await expect(t.core(schedule, 'r-2')).rejects.toThrow('Rate exceeded');
    expect(t.calls.length).toBeGreaterThan(0);
    expect(await t.store.current()).toBeNull();
    expect(await t.store.currentToken()).toBe(1);
    expect(t.emf).toHaveLength(1);
    expect(t.emf[0]).toMatchObject({ LeaseHeld: 0, LeaseChanges: 1 });
    expect(t.emf[0]!['ApiThrottles']).toBe(t.calls.length);
    expect(t.emf[0]).not.toHaveProperty('ZonesWithoutEgress');
    expect(t.logs.find((l) => l['event'] === 'invocation_failed')).toMatchObject({ level: 'error', requestId: 'r-2', error: { name: 'Throttling', message: 'Rate exceeded' } });
  });

  it('a live holder: skipped, and the lease is left alone', async () => {
    const t = make(async (cmd) => {
      const name = (cmd as object).constructor.name;
      if (name === 'DescribeInstancesCommand') return { Reservations: [] };
      if (name === 'DescribeNetworkInterfacesCommand') return { NetworkInterfaces: [] };
      return { RouteTables: [] };
    });
    const agent = await t.store.acquire('i-0agent', 60_000);
    const out = await t.core(schedule, 'r-3');
    expect(out).toMatchObject({ skipped: 'lease held by i-0agent', metrics: { leaseHeld: 1, zonesWithoutEgress: 0 } });
    expect(await t.store.current()).toMatchObject({ holder: 'i-0agent', token: agent.token });
    expect(t.calls.sort()).toEqual(['DescribeInstancesCommand', 'DescribeNetworkInterfacesCommand', 'DescribeRouteTablesCommand']);
  });
});

describe('createLambdaCore without controller.vpcId', () => {
  it('refuses at creation, naming the field', () => {
    const noVpc = parseAgentConfig('{}', 'test');
    expect(() => createLambdaCore({ config: noVpc, ec2: { send: async () => ({}) } as never, autoscaling: { send: async () => ({}) } as never, leaseStore: new MemoryLeaseStore({ clock: new ManualClock() }), holder: 'h', clock: new ManualClock(), logger: createLogger({ write: () => {} }), emit: () => {} })).toThrow(/^controller\.vpcId: required for the Lambda/);
  });
  const notNat = 'i-0aaaaaaaaaaaaaaaa';
  const lifecycle = (type: string, transition: string) => ({
    'detail-type': type,
    source: 'aws.autoscaling',
    time: '2026-01-01T00:00:00Z',
    detail: { LifecycleActionToken: '87654321-4321-4321-4321-210987654321', AutoScalingGroupName: 'other-team', LifecycleHookName: 'drain', EC2InstanceId: notNat, LifecycleTransition: transition },
  });
  // A lifecycle action of another group must never be completed: CONTINUE would cut its
  // owner's drain short. EventBridge cannot filter EC2 events by tag either.
  it.each([
    ['instance-state', { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', time: '2026-01-01T00:00:00Z', detail: { 'instance-id': notNat, state: 'stopped' } }],
    ['spot-interruption', { 'detail-type': 'EC2 Spot Instance Interruption Warning', source: 'aws.ec2', time: '2026-01-01T00:00:00Z', detail: { 'instance-id': notNat, 'instance-action': 'terminate' } }],
    ['lifecycle-terminate', lifecycle('EC2 Instance-terminate Lifecycle Action', 'autoscaling:EC2_INSTANCE_TERMINATING')],
    ['lifecycle-launch', lifecycle('EC2 Instance-launch Lifecycle Action', 'autoscaling:EC2_INSTANCE_LAUNCHING')],
  ])("%s about an instance that is not one of the VPC's NATs: one filtered Describe call, no lease, nothing completed", async (kind, event) => {
    const sent: unknown[] = [];
    const t = make(async (cmd) => {
      sent.push((cmd as { input: unknown }).input);
      return { Reservations: [] };
    });
    const out = await t.core(event, 'r-3');
    expect(out).toMatchObject({ event: kind, skipped: `${notNat} is not a natkeeper NAT of vpc-0123456789abcdef0` });
    expect(out.lifecycle).toBeUndefined();
    expect(t.calls).toEqual(['DescribeInstancesCommand']);
    expect(sent[0]).toMatchObject({ Filters: expect.arrayContaining([{ Name: 'instance-id', Values: [notNat] }, { Name: 'vpc-id', Values: ['vpc-0123456789abcdef0'] }, { Name: 'tag:natkeeper:role', Values: ['nat'] }]) });
    expect(await t.store.currentToken()).toBe(0);
    expect(t.emf).toEqual([expect.objectContaining({ Failovers: 0, LeaseChanges: 0 })]);
  });

  it('the NAT check failing (an AWS error): logged, metrics emitted, rethrown for the async retry', async () => {
    const t = make(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    });
    const event = { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', time: '2026-01-01T00:00:00Z', detail: { 'instance-id': notNat, state: 'stopped' } };
    await expect(t.core(event, 'r-4')).rejects.toThrow('Rate exceeded');
    expect(await t.store.currentToken()).toBe(0);
    expect(t.emf).toEqual([expect.objectContaining({ ApiThrottles: 1, LeaseChanges: 0 })]);
    expect(t.logs.find((l) => l['event'] === 'invocation_failed')).toMatchObject({ level: 'error', requestId: 'r-4', apiThrottles: 1 });
  });
  it('a Spot warning while another invocation of this Lambda holds the lease past the wait: thrown, so Lambda retries the event', async () => {
    const nat = { Reservations: [{ Instances: [{ InstanceId: 'i-0bbbbbbbbbbbbbbbb' }] }] };
    const t = make(async () => nat, { siblingWaitMs: 50 });
    await t.store.acquire('lambda:t/req-other/0a0b0c0d', 60_000);
    const warning = { 'detail-type': 'EC2 Spot Instance Interruption Warning', source: 'aws.ec2', time: '2026-01-01T00:00:00Z', detail: { 'instance-id': 'i-0bbbbbbbbbbbbbbbb', 'instance-action': 'terminate' } };
    await expect(t.core(warning, 'r-4')).rejects.toThrow(/lease held by lambda:t\/req-other\/0a0b0c0d, another invocation of this Lambda, past the wait: the spot-interruption event is retried/);
    // The schedule has no news of its own: the busy sibling's cycle covers it, so it is a plain skip.
    await expect(t.core(schedule, 'r-5')).resolves.toMatchObject({ skipped: 'lease held by lambda:t/req-other/0a0b0c0d' });
  });
});
