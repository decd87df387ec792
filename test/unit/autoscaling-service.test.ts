import { afterEach, describe, expect, it } from 'vitest';
import { AutoScalingController } from '../../lab/emulator/autoscaling/controller.js';
import { decodeNextToken, filterList, memberList } from '../../lab/emulator/autoscaling/params.js';
import { autoScalingService } from '../../lab/emulator/autoscaling/service.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { ApiError } from '../../lab/emulator/errors.js';
import type { QueryParams, XmlValue } from '../../lab/emulator/query/types.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function setup(opts: { controller?: boolean; zones?: number } = {}): { store: LabStore; manifest: LabManifest; clock: ManualClock } {
  const clock = new ManualClock();
  const zones = ['a', 'b', 'c', 'd'].slice(0, opts.zones ?? 3).map((name, i) => ({
    name,
    publicSubnet: `10.0.${i}.0/24`,
    privateSubnets: [`10.0.${100 + i}.0/24`],
    natInstances: name === 'a' ? 2 : 1,
  }));
  const { store, manifest } = buildLab(topologySchema.parse({ zones, autoScaling: { replacementDelayMs: 5000 } }), clock);
  if (opts.controller !== false) {
    const ctl = new AutoScalingController({ store });
    ctl.start();
    cleanup.push(() => ctl.stop());
  }
  cleanup.push(() => store.dispose());
  return { store, manifest, clock };
}

type Row = Record<string, unknown>;
/** The answer documents' fields, loosely: each test reads the ones its action has. */
interface Answer {
  AutoScalingGroups: Row[];
  AutoScalingInstances: Row[];
  LifecycleHooks: Row[];
  Activity: Row;
  NextToken?: string;
}

async function call(store: LabStore, action: string, params: QueryParams = {}): Promise<Answer> {
  const def = autoScalingService.actions[action];
  if (!def) throw new Error(`no action ${action}`);
  const out: XmlValue = await def.handler(params, { requestId: 'req-1', store });
  return out as unknown as Answer;
}

async function callError(store: LabStore, action: string, params: QueryParams = {}): Promise<ApiError> {
  try {
    await call(store, action, params);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error(`${action} did not fail`);
}

describe('autoScalingService definition', () => {
  it('is the awsQuery Auto Scaling service', () => {
    expect(autoScalingService).toMatchObject({
      name: 'autoscaling',
      version: '2011-01-01',
      xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
      listItem: 'member',
      wrapResult: true,
    });
    const mutating = Object.entries(autoScalingService.actions)
      .filter(([, d]) => d.mutating)
      .map(([n]) => n)
      .sort();
    expect(mutating).toEqual([
      'CompleteLifecycleAction',
      'DeleteLifecycleHook',
      'PutLifecycleHook',
      'RecordLifecycleActionHeartbeat',
      'SetInstanceHealth',
      'TerminateInstanceInAutoScalingGroup',
    ]);
  });
});

describe('DescribeAutoScalingGroups', () => {
  it('describes every group with the fields the SDK reads', async () => {
    const { store, manifest } = setup();
    const out = await call(store, 'DescribeAutoScalingGroups');
    expect(out.AutoScalingGroups.map((g) => g.AutoScalingGroupName)).toEqual(['natkeeper-a', 'natkeeper-b', 'natkeeper-c']);
    const a = out.AutoScalingGroups[0]!;
    expect(a).toMatchObject({
      AutoScalingGroupName: 'natkeeper-a',
      MinSize: 2,
      MaxSize: 3,
      DesiredCapacity: 2,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-east-1a'],
      HealthCheckType: 'EC2',
      HealthCheckGracePeriod: 0,
      VPCZoneIdentifier: manifest.zones[0]!.publicSubnetId,
      Tags: [{ ResourceId: 'natkeeper-a', ResourceType: 'auto-scaling-group', Key: 'natkeeper:zone', Value: 'a', PropagateAtLaunch: true }],
    });
    expect(a.AutoScalingGroupARN).toMatch(/^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/natkeeper-a$/);
    expect(a.Instances).toEqual(
      manifest.zones[0]!.natInstanceIds.map((id) => ({
        InstanceId: id,
        InstanceType: 't4g.nano',
        AvailabilityZone: 'us-east-1a',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      })),
    );
    expect(out.NextToken).toBeUndefined();
  });

  it('filters by name (unknown names are left out, not an error) and by tag', async () => {
    const { store } = setup();
    const byName = await call(store, 'DescribeAutoScalingGroups', {
      'AutoScalingGroupNames.member.1': 'natkeeper-c',
      'AutoScalingGroupNames.member.2': 'nope',
    });
    expect(byName.AutoScalingGroups.map((g) => g.AutoScalingGroupName)).toEqual(['natkeeper-c']);
    const byTag = await call(store, 'DescribeAutoScalingGroups', {
      'Filters.member.1.Name': 'tag:natkeeper:zone',
      'Filters.member.1.Values.member.1': 'b',
      'Filters.member.1.Values.member.2': 'c',
    });
    expect(byTag.AutoScalingGroups.map((g) => g.AutoScalingGroupName)).toEqual(['natkeeper-b', 'natkeeper-c']);
    const byKey = await call(store, 'DescribeAutoScalingGroups', { 'Filters.member.1.Name': 'tag-key', 'Filters.member.1.Values.member.1': 'other' });
    expect(byKey.AutoScalingGroups).toEqual([]);
    const err = await callError(store, 'DescribeAutoScalingGroups', { 'Filters.member.1.Name': 'instance-id', 'Filters.member.1.Values.member.1': 'x' });
    expect(err.code).toBe('ValidationError');
  });

  it('pages with MaxRecords and NextToken', async () => {
    const { store } = setup({ zones: 4 });
    const first = await call(store, 'DescribeAutoScalingGroups', { MaxRecords: '3' });
    expect(first.AutoScalingGroups).toHaveLength(3);
    expect(typeof first.NextToken).toBe('string');
    const second = await call(store, 'DescribeAutoScalingGroups', { MaxRecords: '3', NextToken: first.NextToken! });
    expect(second.AutoScalingGroups.map((g) => g.AutoScalingGroupName)).toEqual(['natkeeper-d']);
    expect(second.NextToken).toBeUndefined();
    expect((await callError(store, 'DescribeAutoScalingGroups', { NextToken: 'garbage' })).code).toBe('InvalidNextToken');
    const tooMany = await callError(store, 'DescribeAutoScalingGroups', { MaxRecords: '101' });
    expect(tooMany.code).toBe('ValidationError');
    expect(tooMany.message).toContain("at 'maxRecords'");
  });

  it('IncludeInstances=false leaves the instances out', async () => {
    const { store } = setup();
    const out = await call(store, 'DescribeAutoScalingGroups', { IncludeInstances: 'false' });
    expect(out.AutoScalingGroups[0]!.Instances).toEqual([]);
  });
});

describe('DescribeAutoScalingInstances', () => {
  it('lists group members with AWS upper-case health, filtered by InstanceIds', async () => {
    const { store, manifest } = setup();
    const all = await call(store, 'DescribeAutoScalingInstances');
    expect(all.AutoScalingInstances).toHaveLength(4);
    const id = manifest.zones[1]!.natInstanceIds[0]!;
    const one = await call(store, 'DescribeAutoScalingInstances', { 'InstanceIds.member.1': id, 'InstanceIds.member.2': 'i-0nothere' });
    expect(one.AutoScalingInstances).toEqual([
      {
        InstanceId: id,
        InstanceType: 't4g.nano',
        AutoScalingGroupName: 'natkeeper-b',
        AvailabilityZone: 'us-east-1b',
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      },
    ]);
    const paged = await call(store, 'DescribeAutoScalingInstances', { MaxRecords: '3' });
    expect(paged.AutoScalingInstances).toHaveLength(3);
    expect(paged.NextToken).toBeDefined();
    expect((await callError(store, 'DescribeAutoScalingInstances', { MaxRecords: '51' })).code).toBe('ValidationError');
  });
});

describe('SetInstanceHealth', () => {
  it('marks an instance Unhealthy, which takes it out of service', async () => {
    const { store, manifest } = setup();
    const id = manifest.zones[0]!.natInstanceIds[0]!;
    expect(await call(store, 'SetInstanceHealth', { InstanceId: id, HealthStatus: 'Unhealthy' })).toBeUndefined();
    const g = store.autoScalingGroups.get('natkeeper-a')!;
    expect(g.instances.find((m) => m.instanceId === id)).toMatchObject({ healthStatus: 'Unhealthy', lifecycleState: 'Terminating' });
  });

  it('validates its parameters like AWS', async () => {
    const { store, manifest } = setup();
    const id = manifest.zones[0]!.natInstanceIds[0]!;
    const missing = await callError(store, 'SetInstanceHealth', { HealthStatus: 'Healthy' });
    expect(missing.code).toBe('ValidationError');
    expect(missing.message).toBe("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null");
    expect((await callError(store, 'SetInstanceHealth', { InstanceId: id, HealthStatus: 'Sick' })).code).toBe('ValidationError');
    expect((await callError(store, 'SetInstanceHealth', { InstanceId: id, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: 'maybe' })).code).toBe(
      'ValidationError',
    );
    const unknown = await callError(store, 'SetInstanceHealth', { InstanceId: 'i-0123456789abcdef0', HealthStatus: 'Unhealthy' });
    expect(unknown.message).toBe('Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0');
  });

  it('needs the group controller', async () => {
    const { store, manifest } = setup({ controller: false });
    const err = await callError(store, 'SetInstanceHealth', { InstanceId: manifest.zones[0]!.natInstanceIds[0]!, HealthStatus: 'Unhealthy' });
    expect(err.code).toBe('InternalFailure');
    expect(err.httpStatus).toBe(500);
  });
});

describe('lifecycle hooks', () => {
  it('PutLifecycleHook creates with AWS defaults, updates by name, DescribeLifecycleHooks lists', async () => {
    const { store } = setup();
    await call(store, 'PutLifecycleHook', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'launch',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    });
    let out = await call(store, 'DescribeLifecycleHooks', { AutoScalingGroupName: 'natkeeper-a' });
    expect(out.LifecycleHooks).toEqual([
      {
        LifecycleHookName: 'launch',
        AutoScalingGroupName: 'natkeeper-a',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        NotificationTargetARN: undefined,
        RoleARN: undefined,
        NotificationMetadata: undefined,
        HeartbeatTimeout: 3600,
        GlobalTimeout: 172800,
        DefaultResult: 'ABANDON',
      },
    ]);
    await call(store, 'PutLifecycleHook', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'launch',
      HeartbeatTimeout: '60',
      DefaultResult: 'CONTINUE',
      NotificationMetadata: 'm',
    });
    await call(store, 'PutLifecycleHook', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'drain',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
    out = await call(store, 'DescribeLifecycleHooks', { AutoScalingGroupName: 'natkeeper-a', 'LifecycleHookNames.member.1': 'launch' });
    expect(out.LifecycleHooks).toHaveLength(1);
    expect(out.LifecycleHooks[0]).toMatchObject({
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      HeartbeatTimeout: 60,
      GlobalTimeout: 6000,
      DefaultResult: 'CONTINUE',
      NotificationMetadata: 'm',
    });
    expect((await call(store, 'DescribeLifecycleHooks', { AutoScalingGroupName: 'natkeeper-a' })).LifecycleHooks).toHaveLength(2);
    await call(store, 'DeleteLifecycleHook', { AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'drain' });
    expect((await call(store, 'DescribeLifecycleHooks', { AutoScalingGroupName: 'natkeeper-a' })).LifecycleHooks).toHaveLength(1);
  });

  it('rejects bad hooks', async () => {
    const { store } = setup();
    const base = { AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'h' };
    expect((await callError(store, 'PutLifecycleHook', base)).message).toContain('LifecycleTransition is required');
    expect((await callError(store, 'PutLifecycleHook', { ...base, LifecycleTransition: 'autoscaling:EC2_INSTANCE_REBOOTING' })).code).toBe(
      'ValidationError',
    );
    expect(
      (await callError(store, 'PutLifecycleHook', { ...base, LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: '10' })).code,
    ).toBe('ValidationError');
    expect(
      (await callError(store, 'PutLifecycleHook', { ...base, LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', DefaultResult: 'MAYBE' })).code,
    ).toBe('ValidationError');
    const noGroup = await callError(store, 'PutLifecycleHook', { ...base, AutoScalingGroupName: 'nope', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
    expect(noGroup.code).toBe('ValidationError');
    expect((await callError(store, 'DescribeLifecycleHooks', { AutoScalingGroupName: 'nope' })).code).toBe('ValidationError');
    expect((await callError(store, 'DescribeLifecycleHooks', {})).code).toBe('ValidationError');
    expect((await callError(store, 'DeleteLifecycleHook', base)).code).toBe('ValidationError');
    for (let i = 0; i < 50; i++)
      await call(store, 'PutLifecycleHook', { ...base, LifecycleHookName: `h${i}`, LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
    expect((await callError(store, 'PutLifecycleHook', { ...base, LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' })).code).toBe('LimitExceeded');
  });

  it('CompleteLifecycleAction and RecordLifecycleActionHeartbeat go through the controller', async () => {
    const { store, manifest, clock } = setup();
    await call(store, 'PutLifecycleHook', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'drain',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      HeartbeatTimeout: '30',
    });
    const id = manifest.zones[0]!.natInstanceIds[0]!;
    await call(store, 'SetInstanceHealth', { InstanceId: id, HealthStatus: 'Unhealthy' });
    const member = () => store.autoScalingGroups.get('natkeeper-a')!.instances.find((m) => m.instanceId === id);
    expect(member()!.lifecycleState).toBe('Terminating:Wait');
    const token = member()!.pendingHook!.token;
    clock.advance(20_000);
    await call(store, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'drain', LifecycleActionToken: token });
    clock.advance(20_000);
    expect(member()!.lifecycleState).toBe('Terminating:Wait');
    const bad = await callError(store, 'CompleteLifecycleAction', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'drain',
      LifecycleActionToken: token,
      LifecycleActionResult: 'MAYBE',
    });
    expect(bad.code).toBe('ValidationError');
    const neither = await callError(store, 'CompleteLifecycleAction', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'drain',
      LifecycleActionResult: 'CONTINUE',
    });
    expect(neither.code).toBe('ValidationError');
    await call(store, 'CompleteLifecycleAction', {
      AutoScalingGroupName: 'natkeeper-a',
      LifecycleHookName: 'drain',
      LifecycleActionToken: token,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(store.instance(id).state).toBe('shutting-down');
  });
});

describe('TerminateInstanceInAutoScalingGroup', () => {
  it('answers with an Activity and requires ShouldDecrementDesiredCapacity', async () => {
    const { store, manifest } = setup();
    const id = manifest.zones[0]!.natInstanceIds[0]!;
    expect((await callError(store, 'TerminateInstanceInAutoScalingGroup', { InstanceId: id })).code).toBe('ValidationError');
    const out = await call(store, 'TerminateInstanceInAutoScalingGroup', { InstanceId: id, ShouldDecrementDesiredCapacity: 'false' });
    expect(out.Activity).toMatchObject({ AutoScalingGroupName: 'natkeeper-a', StatusCode: 'InProgress', Description: `Terminating EC2 instance: ${id}` });
    expect(store.instance(id).state).toBe('shutting-down');
  });
});

describe('query parameter helpers', () => {
  it('reads member lists in index order, ignoring other keys', () => {
    expect(memberList({ 'A.member.2': 'b', 'A.member.10': 'c', 'A.member.1': 'a', 'A.member.x': 'no', 'B.member.1': 'no' }, 'A')).toEqual(['a', 'b', 'c']);
  });
  it('reads filters and insists on a Name', () => {
    expect(
      filterList({ 'Filters.member.1.Name': 'tag-key', 'Filters.member.1.Values.member.1': 'k', 'Filters.member.2.Name': 'tag-value' }),
    ).toEqual([
      { name: 'tag-key', values: ['k'] },
      { name: 'tag-value', values: [] },
    ]);
    expect(() => filterList({ 'Filters.member.1.Values.member.1': 'k' })).toThrow(ApiError);
  });
  it('binds page tokens to their action', () => {
    expect(decodeNextToken('X', undefined)).toBeUndefined();
    expect(decodeNextToken('X', '')).toBeUndefined();
    expect(() => decodeNextToken('DescribeAutoScalingGroups', Buffer.from(JSON.stringify({ a: 'Other', k: 'x' })).toString('base64url'))).toThrow(
      /invalid/,
    );
  });
});
