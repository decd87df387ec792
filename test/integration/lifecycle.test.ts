// LifecycleHooks against the lab's Auto Scaling API (startApiLab with autoScaling),
// with the official SDK client built by src/aws/clients.ts.
import {
  DescribeAutoScalingInstancesCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutoScalingClient } from '../../src/aws/clients.js';
import { LifecycleHooks, isRetryableAwsError } from '../../src/aws/lifecycle.js';
import { DUMMY_CREDENTIALS, startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';

let lab: ApiLab;
let client: AutoScalingClient;

beforeAll(async () => {
  lab = await startApiLab({ autoScaling: true, topology: { autoScaling: { replacementDelayMs: 50 }, realism: { throttling: { enabled: false } } } });
  client = createAutoScalingClient({ region: 'us-east-1', endpoint: lab.endpoint, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await lab?.close();
});

const stateOf = async (id: string) =>
  (await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }))).AutoScalingInstances?.[0]?.LifecycleState;

async function putHook(group: string, name: string, transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING') {
  await client.send(
    new PutLifecycleHookCommand({ AutoScalingGroupName: group, LifecycleHookName: name, LifecycleTransition: transition, HeartbeatTimeout: 60, DefaultResult: 'ABANDON' }),
  );
}

/** Marks the group's first NAT Unhealthy and returns the replacement, once it waits in Pending:Wait. */
async function replacementOf(zone: number, group: string): Promise<string> {
  const victim = lab.manifest.zones[zone]!.natInstanceIds[0]!;
  await client.send(new SetInstanceHealthCommand({ InstanceId: victim, HealthStatus: 'Unhealthy' }));
  return until('the replacement in Pending:Wait', () =>
    lab.store.autoScalingGroups.get(group)!.instances.find((m) => m.instanceId !== victim && m.lifecycleState === 'Pending:Wait')?.instanceId,
  );
}

describe('LifecycleHooks against the lab Auto Scaling API', () => {
  it('completes a launch with CONTINUE after setup and self-test pass: InService', async () => {
    await putHook('natkeeper-a', 'nat-launch', 'autoscaling:EC2_INSTANCE_LAUNCHING');
    const id = await replacementOf(0, 'natkeeper-a');
    const hooks = new LifecycleHooks({ autoScaling: client, instanceId: id, heartbeatIntervalMs: 20 });
    const seen: (string | undefined)[] = [];
    const outcome = await hooks.completeLaunch(async () => {
      seen.push(await stateOf(id));
      await new Promise((r) => setTimeout(r, 100)); // a few heartbeats
      return true;
    });
    expect(outcome).toEqual({ result: 'CONTINUE', hookName: 'nat-launch' });
    expect(seen).toEqual(['Pending:Wait']);
    expect(await stateOf(id)).toBe('InService');
    // Idempotent: a second run finds nothing to complete and does not run setup.
    let again = false;
    expect(await hooks.completeLaunch(async () => void (again = true))).toEqual({ result: 'none', state: 'InService' });
    expect(again).toBe(false);
  });

  it('abandons a launch whose self-test fails: the instance is terminated', async () => {
    await putHook('natkeeper-b', 'nat-launch', 'autoscaling:EC2_INSTANCE_LAUNCHING');
    const id = await replacementOf(1, 'natkeeper-b');
    const lines: string[] = [];
    const { createLogger } = await import('../../src/telemetry/logger.js');
    const hooks = new LifecycleHooks({ autoScaling: client, instanceId: id, log: createLogger({ write: (l) => lines.push(l) }) });
    const outcome = await hooks.completeLaunch(async () => {
      throw new Error('masquerade rule missing');
    });
    expect(outcome).toEqual({ result: 'ABANDON', hookName: 'nat-launch', reason: 'setupAndSelfTest failed: masquerade rule missing' });
    expect(lines.some((l) => l.includes('asg.launch-abandon') && l.includes('masquerade rule missing'))).toBe(true);
    await until('the abandoned instance terminated', () => lab.store.instances.get(id)?.state === 'terminated');
    expect(lab.store.autoScalingGroups.get('natkeeper-b')!.instances.some((m) => m.instanceId === id)).toBe(false);
  });

  it('on Terminating:Wait hands over first, heartbeating, then completes: the instance terminates after', async () => {
    await putHook('natkeeper-c', 'nat-drain', 'autoscaling:EC2_INSTANCE_TERMINATING');
    const id = lab.manifest.zones[2]!.natInstanceIds[0]!;
    const signals: string[] = [];
    let heartbeats = 0;
    const counting = {
      send: (cmd: unknown) => {
        if (cmd instanceof RecordLifecycleActionHeartbeatCommand) heartbeats++;
        return client.send(cmd as never);
      },
    } as Pick<AutoScalingClient, 'send'>;
    const hooks = new LifecycleHooks({
      autoScaling: counting,
      instanceId: id,
      pollIntervalMs: 20,
      heartbeatIntervalMs: 20,
      onSignal: (s) => signals.push(s.cause),
    });
    const during: { ec2: string | undefined; asg: string | undefined }[] = [];
    const watch = hooks.watchTermination(async () => {
      during.push({ ec2: lab.store.instances.get(id)?.state, asg: await stateOf(id) });
      await new Promise((r) => setTimeout(r, 100));
      during.push({ ec2: lab.store.instances.get(id)?.state, asg: await stateOf(id) });
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(during).toEqual([]);
    await client.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: false }));
    const outcome = await watch.done;
    expect(outcome).toEqual({ result: 'CONTINUE', hookName: 'nat-drain', handedOver: true });
    expect(signals).toEqual(['lifecycle-terminating']);
    // One to find the active hook, more while handOver ran.
    expect(heartbeats).toBeGreaterThanOrEqual(3);
    expect(during).toEqual([
      { ec2: 'running', asg: 'Terminating:Wait' },
      { ec2: 'running', asg: 'Terminating:Wait' },
    ]);
    await until('the instance terminated', () => lab.store.instances.get(id)?.state === 'terminated');
    await watch.stop();
    // Idempotent: the same outcome again, no second handover.
    expect(await hooks.completeTermination(async () => void during.push({ ec2: 'again', asg: 'again' }))).toEqual(outcome);
    expect(during).toHaveLength(2);
  });

  it('bounds a hung handover by its timeout and still completes', async () => {
    const id = lab.store.autoScalingGroups.get('natkeeper-c')!.instances.find((m) => m.lifecycleState === 'InService')?.instanceId
      ?? (await until('a natkeeper-c member in service', () => lab.store.autoScalingGroups.get('natkeeper-c')!.instances.find((m) => m.lifecycleState === 'InService')?.instanceId));
    const hooks = new LifecycleHooks({ autoScaling: client, instanceId: id, handOverTimeoutMs: 150, heartbeatIntervalMs: 30 });
    await client.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: false }));
    await until('Terminating:Wait', async () => (await stateOf(id)) === 'Terminating:Wait');
    let aborted = false;
    const outcome = await hooks.completeTermination(
      (signal) =>
        new Promise<void>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    );
    expect(outcome).toMatchObject({ result: 'CONTINUE', handedOver: false, reason: expect.stringContaining('within 150 ms') });
    expect(aborted).toBe(true);
    await until('the instance terminated', () => lab.store.instances.get(id)?.state === 'terminated');
  });

  it('retries throttled calls with backoff', async () => {
    let throttled = 0;
    const flaky = {
      send: async (cmd: unknown) => {
        if (throttled < 3) {
          throttled++;
          throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
        }
        return client.send(cmd as never);
      },
    } as Pick<AutoScalingClient, 'send'>;
    const id = lab.manifest.zones[0]!.natInstanceIds[1] ?? lab.store.autoScalingGroups.get('natkeeper-a')!.instances[0]!.instanceId;
    const hooks = new LifecycleHooks({ autoScaling: flaky, instanceId: id, retry: { minTimeoutMs: 10, maxTimeoutMs: 20 } });
    const m = await hooks.membership();
    expect(throttled).toBe(3);
    expect(m).toMatchObject({ groupName: 'natkeeper-a' });
    expect(isRetryableAwsError({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } })).toBe(false);
  });
});
