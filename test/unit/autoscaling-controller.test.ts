import { afterEach, describe, expect, it, vi } from 'vitest';
import { AutoScalingController, controllerFor } from '../../lab/emulator/autoscaling/controller.js';
import { putLifecycleHook } from '../../lab/emulator/autoscaling/hooks.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { ApiError } from '../../lab/emulator/errors.js';
import type { LabEvent } from '../../lab/emulator/events/shapes.js';
import type { AutoScalingGroup } from '../../lab/emulator/model.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const DELAY = 10_000;
const GROUP = 'natkeeper-a';

interface Fixture {
  clock: ManualClock;
  store: LabStore;
  ctl: AutoScalingController;
  events: LabEvent[];
  launched: { instanceId: string; group: string }[];
  group(): AutoScalingGroup;
  member(id: string): AutoScalingGroup['instances'][number] | undefined;
  nats: string[];
}

const fixtures: Fixture[] = [];

function setup(opts: { grace?: number; natInstances?: number; start?: boolean } = {}): Fixture {
  const clock = new ManualClock();
  const topology = topologySchema.parse({
    zones: [{ name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: opts.natInstances ?? 2 }],
    autoScaling: { replacementDelayMs: DELAY, healthCheckGracePeriodSeconds: opts.grace ?? 0 },
  });
  const { store, manifest } = buildLab(topology, clock);
  const events: LabEvent[] = [];
  const launched: Fixture['launched'] = [];
  const ctl = new AutoScalingController({
    store,
    events: { publish: (e) => events.push(e) },
    onInstanceLaunched: (instanceId, group) => {
      launched.push({ instanceId, group: group.autoScalingGroupName });
    },
  });
  if (opts.start !== false) ctl.start();
  const f: Fixture = {
    clock,
    store,
    ctl,
    events,
    launched,
    group: () => store.autoScalingGroups.get(GROUP)!,
    member: (id) => store.autoScalingGroups.get(GROUP)!.instances.find((m) => m.instanceId === id),
    nats: manifest.zones[0]!.natInstanceIds,
  };
  fixtures.push(f);
  return f;
}

afterEach(() => {
  for (const f of fixtures.splice(0)) {
    f.ctl.stop();
    f.store.dispose();
  }
});

const active = (g: AutoScalingGroup) => g.instances.filter((m) => !m.lifecycleState.startsWith('Terminat'));

function catchApiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('AutoScalingController: replacement', () => {
  it('takes a stopped instance out of service, terminates it and launches a replacement after the delay', () => {
    const f = setup();
    const [victim, other] = f.nats as [string, string];
    f.store.stopInstance(victim, 'test');
    expect(f.member(victim)).toMatchObject({ lifecycleState: 'Terminating', healthStatus: 'Unhealthy' });
    // The group terminates what it took out of service.
    expect(f.store.instance(victim).state).toBe('shutting-down');
    f.clock.advance(1000);
    expect(f.store.instance(victim).state).toBe('terminated');
    expect(f.member(victim)).toBeUndefined();
    expect(f.group().instances.map((m) => m.instanceId)).toEqual([other]);

    // Nothing is launched before the delay…
    f.clock.advance(DELAY - 1000 - 1);
    expect(f.launched).toEqual([]);
    // …and one replacement exactly at it.
    f.clock.advance(1);
    expect(f.launched).toHaveLength(1);
    const id = f.launched[0]!.instanceId;
    expect(f.launched[0]!.group).toBe(GROUP);
    expect(f.member(id)).toMatchObject({ lifecycleState: 'Pending', healthStatus: 'Healthy', availabilityZone: 'us-east-1a' });

    const inst = f.store.instance(id);
    expect(inst).toMatchObject({ role: 'nat', sourceDestCheck: false, autoScalingGroupName: GROUP, subnetId: f.store.instance(other).subnetId });
    const tags = Object.fromEntries(inst.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'aws:autoscaling:groupName': GROUP, 'natkeeper:role': 'nat', 'natkeeper:zone': 'a', Name: 'nat-a3' });
    expect(f.store.primaryInterface(id)!.sourceDestCheck).toBe(false);

    // EC2 says running → InService; the group is whole again.
    f.clock.advance(f.store.timings.instanceStartMs);
    expect(f.member(id)!.lifecycleState).toBe('InService');
    expect(active(f.group())).toHaveLength(f.group().desiredCapacity);
    // And stays whole: no extra launches later.
    f.clock.advance(10 * DELAY);
    expect(f.launched).toHaveLength(1);
  });

  it('replaces a terminated instance, and two failures get one replacement each, each after its own delay', () => {
    const f = setup();
    const [a, b] = f.nats as [string, string];
    f.store.terminateInstance(a);
    f.clock.advance(5000);
    f.store.terminateInstance(b);
    f.clock.advance(DELAY - 5000);
    expect(f.launched).toHaveLength(1);
    f.clock.advance(4999);
    expect(f.launched).toHaveLength(1);
    f.clock.advance(1);
    expect(f.launched).toHaveLength(2);
    f.clock.advance(DELAY * 3);
    expect(f.launched).toHaveLength(2);
    expect(active(f.group()).map((m) => m.lifecycleState)).toEqual(['InService', 'InService']);
  });

  it('ignores instances that are not in a group', () => {
    const f = setup();
    const app = f.store.instances.values().find((i) => i.role === 'app')!;
    f.store.stopInstance(app.instanceId);
    f.clock.advance(DELAY * 2);
    expect(f.launched).toEqual([]);
  });

  it('on start, replaces members whose instance is already down', () => {
    const f = setup({ start: false });
    f.store.stopInstance(f.nats[0]!);
    f.clock.advance(5000);
    f.ctl.start();
    expect(f.member(f.nats[0]!)!.lifecycleState).toBe('Terminating');
    f.clock.advance(DELAY);
    expect(f.launched).toHaveLength(1);
  });

  it('stop() cancels pending replacements and stops reacting', () => {
    const f = setup();
    f.store.stopInstance(f.nats[0]!);
    f.ctl.stop();
    expect(controllerFor(f.store)).toBeUndefined();
    f.clock.advance(DELAY * 2);
    expect(f.launched).toEqual([]);
    f.store.stopInstance(f.nats[1]!);
    expect(f.member(f.nats[1]!)!.lifecycleState).toBe('InService');
  });

  it('keeps working when onInstanceLaunched throws or rejects', () => {
    const clock = new ManualClock();
    const { store, manifest } = buildLab(topologySchema.parse({ autoScaling: { replacementDelayMs: DELAY } }), clock);
    const calls: string[] = [];
    const ctl = new AutoScalingController({
      store,
      onInstanceLaunched: (id) => {
        calls.push(id);
        if (calls.length === 1) throw new Error('boom');
        return Promise.reject(new Error('async boom'));
      },
    });
    ctl.start();
    fixtures.push({ clock, store, ctl } as Fixture);
    store.stopInstance(manifest.zones[0]!.natInstanceIds[0]!);
    store.stopInstance(manifest.zones[1]!.natInstanceIds[0]!);
    expect(() => clock.advance(DELAY)).not.toThrow();
    expect(calls).toHaveLength(2);
  });

  it('refuses a second controller on the same store', () => {
    const f = setup();
    const second = new AutoScalingController({ store: f.store });
    expect(() => second.start()).toThrow(/already running/);
  });
});

describe('AutoScalingController: SetInstanceHealth', () => {
  it('Unhealthy takes the instance out of service and replaces it', () => {
    const f = setup();
    const id = f.nats[0]!;
    f.ctl.setInstanceHealth(id, 'Unhealthy');
    expect(f.member(id)).toMatchObject({ lifecycleState: 'Terminating', healthStatus: 'Unhealthy' });
    expect(f.store.instance(id).state).toBe('shutting-down');
    f.clock.advance(DELAY);
    expect(f.launched).toHaveLength(1);
  });

  it('respects the grace period unless told not to', () => {
    const f = setup({ grace: 300 });
    const id = f.nats[0]!;
    f.clock.advance(100_000);
    const err = catchApiError(() => f.ctl.setInstanceHealth(id, 'Unhealthy'));
    expect(err.code).toBe('ValidationError');
    expect(err.message).toBe('The age of the instance (100 seconds) is less than the configured grace period of 300 seconds');
    expect(f.member(id)!.lifecycleState).toBe('InService');
    f.ctl.setInstanceHealth(id, 'Unhealthy', false);
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
  });

  it('allows Unhealthy once the grace period is over', () => {
    const f = setup({ grace: 300 });
    f.clock.advance(300_000);
    f.ctl.setInstanceHealth(f.nats[0]!, 'Unhealthy');
    expect(f.member(f.nats[0]!)!.lifecycleState).toBe('Terminating');
  });

  it('Healthy on a healthy instance changes nothing; unknown instances are a ValidationError', () => {
    const f = setup();
    f.ctl.setInstanceHealth(f.nats[0]!, 'Healthy');
    expect(f.member(f.nats[0]!)).toMatchObject({ lifecycleState: 'InService', healthStatus: 'Healthy' });
    const err = catchApiError(() => f.ctl.setInstanceHealth('i-0000000000000000', 'Unhealthy'));
    expect(err.code).toBe('ValidationError');
    expect(err.message).toContain('i-0000000000000000');
  });
});

describe('AutoScalingController: launch lifecycle hook', () => {
  function withLaunchHook(opts: { heartbeat?: number; defaultResult?: 'CONTINUE' | 'ABANDON' } = {}) {
    const f = setup();
    putLifecycleHook(f.store, {
      autoScalingGroupName: GROUP,
      lifecycleHookName: 'bootstrap',
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      heartbeatTimeoutSeconds: opts.heartbeat ?? 60,
      defaultResult: opts.defaultResult ?? 'ABANDON',
      notificationMetadata: 'zone=a',
    });
    // Make the group launch one: kill a NAT and wait for the replacement to run.
    f.store.stopInstance(f.nats[0]!);
    f.clock.advance(DELAY);
    const id = f.launched[0]!.instanceId;
    expect(f.member(id)!.lifecycleState).toBe('Pending');
    f.clock.advance(f.store.timings.instanceStartMs);
    return { f, id, startedWaitAt: f.clock.now() };
  }

  it('waits in Pending:Wait and publishes the launch lifecycle action event', () => {
    const { f, id } = withLaunchHook();
    const m = f.member(id)!;
    expect(m.lifecycleState).toBe('Pending:Wait');
    expect(m.pendingHook).toMatchObject({ hookName: 'bootstrap' });
    const ev = f.events.find((e) => e['detail-type'] === 'EC2 Instance-launch Lifecycle Action')!;
    expect(ev).toBeDefined();
    expect(ev.source).toBe('aws.autoscaling');
    expect(ev.resources).toEqual([f.group().autoScalingGroupARN]);
    expect(ev.detail).toEqual({
      LifecycleActionToken: m.pendingHook!.token,
      AutoScalingGroupName: GROUP,
      LifecycleHookName: 'bootstrap',
      EC2InstanceId: id,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      NotificationMetadata: 'zone=a',
      Origin: 'EC2',
      Destination: 'AutoScalingGroup',
    });
  });

  it('CONTINUE by token puts the instance in service', () => {
    const { f, id } = withLaunchHook();
    const token = f.member(id)!.pendingHook!.token;
    f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', lifecycleActionToken: token }, 'CONTINUE');
    expect(f.member(id)!.lifecycleState).toBe('InService');
    expect(f.member(id)!.pendingHook).toBeUndefined();
    // The timeout no longer applies.
    f.clock.advance(3600_000);
    expect(f.member(id)!.lifecycleState).toBe('InService');
    expect(f.launched).toHaveLength(1);
  });

  it('CONTINUE by instance ID works too; a second completion is a ValidationError', () => {
    const { f, id } = withLaunchHook();
    const ref = { autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', instanceId: id };
    f.ctl.completeLifecycleAction(ref, 'CONTINUE');
    expect(f.member(id)!.lifecycleState).toBe('InService');
    const err = catchApiError(() => f.ctl.completeLifecycleAction(ref, 'CONTINUE'));
    expect(err.code).toBe('ValidationError');
    expect(err.message).toBe(`No active Lifecycle Action found with instance ID ${id}`);
  });

  it('a wrong token or hook name is a ValidationError, an unknown group too', () => {
    const { f, id } = withLaunchHook();
    const token = f.member(id)!.pendingHook!.token;
    expect(
      catchApiError(() =>
        f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', lifecycleActionToken: 'nope' }, 'CONTINUE'),
      ).message,
    ).toBe('No active Lifecycle Action found with token nope');
    expect(
      catchApiError(() =>
        f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'other', lifecycleActionToken: token }, 'CONTINUE'),
      ).code,
    ).toBe('ValidationError');
    expect(
      catchApiError(() => f.ctl.completeLifecycleAction({ autoScalingGroupName: 'nope', lifecycleHookName: 'bootstrap', instanceId: id }, 'CONTINUE'))
        .message,
    ).toContain('nope not found');
    expect(f.member(id)!.lifecycleState).toBe('Pending:Wait');
  });

  it('ABANDON terminates the instance and launches another after the delay', () => {
    const { f, id } = withLaunchHook();
    f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', instanceId: id }, 'ABANDON');
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
    expect(f.store.instance(id).state).toBe('shutting-down');
    f.clock.advance(DELAY - 1);
    expect(f.launched).toHaveLength(1);
    f.clock.advance(1);
    expect(f.launched).toHaveLength(2);
    expect(f.member(id)).toBeUndefined();
  });

  it('the heartbeat timeout applies the default result (ABANDON)', () => {
    const { f, id } = withLaunchHook({ heartbeat: 60, defaultResult: 'ABANDON' });
    f.clock.advance(59_999);
    expect(f.member(id)!.lifecycleState).toBe('Pending:Wait');
    f.clock.advance(1);
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
  });

  it('the heartbeat timeout applies the default result (CONTINUE)', () => {
    const { f, id } = withLaunchHook({ heartbeat: 60, defaultResult: 'CONTINUE' });
    f.clock.advance(60_000);
    expect(f.member(id)!.lifecycleState).toBe('InService');
  });

  it('RecordLifecycleActionHeartbeat extends the deadline by one heartbeat timeout', () => {
    const { f, id, startedWaitAt } = withLaunchHook({ heartbeat: 60 });
    f.clock.advance(50_000);
    f.ctl.recordLifecycleActionHeartbeat({ autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', instanceId: id });
    expect(f.member(id)!.pendingHook!.deadline).toBe(startedWaitAt + 110_000);
    f.clock.advance(59_999);
    expect(f.member(id)!.lifecycleState).toBe('Pending:Wait');
    f.clock.advance(1);
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
  });

  it('the global timeout (100 × heartbeat) caps heartbeats', () => {
    const { f, id, startedWaitAt } = withLaunchHook({ heartbeat: 30 });
    const ref = { autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', instanceId: id };
    // Heartbeat every 20 s: without the cap it would wait forever.
    while (f.clock.now() - startedWaitAt < 3000_000 - 20_000) {
      f.clock.advance(20_000);
      expect(f.member(id)!.lifecycleState).toBe('Pending:Wait');
      f.ctl.recordLifecycleActionHeartbeat(ref);
    }
    expect(f.member(id)!.pendingHook!.deadline).toBe(startedWaitAt + 3000_000);
    f.clock.advance(startedWaitAt + 3000_000 - f.clock.now());
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
  });

  it('a restarted controller starts leftover waits again', () => {
    const { f, id } = withLaunchHook();
    f.ctl.stop();
    f.clock.advance(3600_000);
    expect(f.member(id)!.lifecycleState).toBe('Pending:Wait');
    f.ctl.start();
    const token = f.ctl.pendingAction(id)!.token;
    f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'bootstrap', lifecycleActionToken: token }, 'CONTINUE');
    expect(f.member(id)!.lifecycleState).toBe('InService');
  });

  it('an instance that dies while waiting is taken out and its wait dropped', () => {
    const { f, id } = withLaunchHook();
    f.store.stopInstance(id);
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
    expect(f.ctl.pendingAction(id)).toBeUndefined();
  });
});

describe('AutoScalingController: terminate lifecycle hook', () => {
  function withTerminateHook(defaultResult: 'CONTINUE' | 'ABANDON' = 'CONTINUE') {
    const f = setup();
    putLifecycleHook(f.store, {
      autoScalingGroupName: GROUP,
      lifecycleHookName: 'drain',
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeoutSeconds: 120,
      defaultResult,
    });
    return f;
  }

  it('waits in Terminating:Wait with the instance still running, then terminates on CONTINUE', () => {
    const f = withTerminateHook();
    const id = f.nats[0]!;
    f.ctl.setInstanceHealth(id, 'Unhealthy');
    const m = f.member(id)!;
    expect(m.lifecycleState).toBe('Terminating:Wait');
    expect(f.store.instance(id).state).toBe('running');
    const ev = f.events.find((e) => e['detail-type'] === 'EC2 Instance-terminate Lifecycle Action')!;
    expect(ev.detail).toMatchObject({
      EC2InstanceId: id,
      LifecycleHookName: 'drain',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      LifecycleActionToken: m.pendingHook!.token,
    });
    f.clock.advance(60_000);
    expect(f.store.instance(id).state).toBe('running');
    f.ctl.completeLifecycleAction({ autoScalingGroupName: GROUP, lifecycleHookName: 'drain', instanceId: id }, 'CONTINUE');
    expect(f.member(id)!.lifecycleState).toBe('Terminating:Proceed');
    expect(f.store.instance(id).state).toBe('shutting-down');
    f.clock.advance(1000);
    expect(f.member(id)).toBeUndefined();
  });

  it('terminates on heartbeat timeout too, and the replacement still comes after the delay', () => {
    const f = withTerminateHook('ABANDON');
    const id = f.nats[0]!;
    f.store.stopInstance(id);
    f.clock.advance(DELAY);
    expect(f.launched).toHaveLength(1);
    expect(f.member(id)!.lifecycleState).toBe('Terminating:Wait');
    f.clock.advance(120_000 - DELAY);
    expect(f.store.instance(id).state).toBe('shutting-down');
  });

  it('skips the wait when EC2 already terminated the instance', () => {
    const f = withTerminateHook();
    const id = f.nats[0]!;
    f.store.terminateInstance(id);
    expect(f.member(id)!.lifecycleState).toBe('Terminating');
    expect(f.events.filter((e) => e['detail-type'] === 'EC2 Instance-terminate Lifecycle Action')).toEqual([]);
  });
});

describe('AutoScalingController: TerminateInstanceInAutoScalingGroup', () => {
  it('replaces the instance unless the desired capacity is decremented', () => {
    const f = setup();
    f.ctl.terminateInstanceInAutoScalingGroup(f.nats[0]!, false);
    f.clock.advance(DELAY);
    expect(f.launched).toHaveLength(1);
  });

  it('refuses to go below the minimum size', () => {
    const f = setup();
    const err = catchApiError(() => f.ctl.terminateInstanceInAutoScalingGroup(f.nats[0]!, true));
    expect(err.code).toBe('ValidationError');
    expect(f.member(f.nats[0]!)!.lifecycleState).toBe('InService');
  });

  it('with a lower minimum it shrinks the group and launches nothing', () => {
    const f = setup();
    f.group().minSize = 1;
    f.ctl.terminateInstanceInAutoScalingGroup(f.nats[0]!, true);
    expect(f.group().desiredCapacity).toBe(1);
    f.clock.advance(DELAY * 2);
    expect(f.launched).toEqual([]);
  });
});

describe('AutoScalingController: store notifications', () => {
  it('announces every membership change with an asg change', () => {
    const f = setup();
    const seen = vi.fn();
    f.store.onChange((c) => {
      if (c.kind === 'asg') seen(c.autoScalingGroupName);
    });
    f.store.stopInstance(f.nats[0]!);
    expect(seen).toHaveBeenCalledWith(GROUP);
  });
});
