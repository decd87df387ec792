// The Auto Scaling Query API over real HTTP, through the lab's API server, with
// the official @aws-sdk/client-auto-scaling client; lifecycle events reach a
// webhook subscribed through the events routes on the same server.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../lab/emulator/api-server.js';
import { AutoScalingController } from '../../lab/emulator/autoscaling/controller.js';
import { autoScalingService } from '../../lab/emulator/autoscaling/service.js';
import { systemClock } from '../../lab/emulator/clock.js';
import { EventBus } from '../../lab/emulator/events/bus.js';
import { createEventRoutes } from '../../lab/emulator/events/routes.js';
import type { LabEvent, LifecycleActionDetail } from '../../lab/emulator/events/shapes.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { until } from '../support/async.js';

const topology = topologySchema.parse({
  autoScaling: { replacementDelayMs: 100 },
  realism: {
    mutatingLatencyMs: 0,
    describeLatencyMs: 0,
    instanceStartMs: 50,
    instanceStopMs: 50,
    instanceTerminateMs: 50,
    throttling: { enabled: false },
  },
});

let store: LabStore;
let manifest: LabManifest;
let controller: AutoScalingController;
let bus: EventBus;
let api: ReturnType<typeof createApiServer>;
let client: AutoScalingClient;
let base: string;
let hookServer: Server;
let hookUrl: string;
const received: LabEvent[] = [];

beforeAll(async () => {
  ({ store, manifest } = buildLab(topology, systemClock));
  bus = new EventBus({ store, backoffMs: 10, timeoutMs: 1000 });
  controller = new AutoScalingController({ store, events: bus });
  controller.start();
  api = createApiServer({
    store,
    services: [autoScalingService],
    realism: topology.realism,
    clock: systemClock,
    extraRoutes: createEventRoutes(bus),
  });
  const port = await api.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
  client = new AutoScalingClient({
    region: 'us-east-1',
    endpoint: base,
    credentials: { accessKeyId: 'AKIDLAB', secretAccessKey: 'lab' },
    maxAttempts: 1,
  });
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LabEvent);
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/events`;
});

afterAll(async () => {
  client?.destroy();
  controller?.stop();
  await bus?.close();
  await api?.close();
  await new Promise((resolve) => (hookServer ? hookServer.close(resolve) : resolve(undefined)));
  store?.dispose();
});

describe('Auto Scaling API over HTTP with the AWS SDK', () => {
  it('describes the lab’s groups and instances', async () => {
    const groups = await client.send(new DescribeAutoScalingGroupsCommand({}));
    expect(groups.AutoScalingGroups!.map((g) => g.AutoScalingGroupName)).toEqual(['natkeeper-a', 'natkeeper-b', 'natkeeper-c']);
    expect(groups.AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId)).toEqual(manifest.zones[0]!.natInstanceIds);
    const instances = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [manifest.zones[2]!.natInstanceIds[0]!] }));
    expect(instances.AutoScalingInstances).toEqual([
      expect.objectContaining({ AutoScalingGroupName: 'natkeeper-c', LifecycleState: 'InService', HealthStatus: 'HEALTHY' }),
    ]);
  });

  it('answers AWS error codes the SDK turns into its exceptions', async () => {
    const err = await client
      .send(new SetInstanceHealthCommand({ InstanceId: 'i-0123456789abcdef0', HealthStatus: 'Unhealthy' }))
      .catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } });
    expect(err).toMatchObject({
      name: 'ValidationError',
      message: 'Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0',
      $metadata: { httpStatusCode: 400 },
    });
    const noGroup = await client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'nope' })).then(
      () => ({ name: 'no error' }),
      (e: unknown) => e as { name: string },
    );
    expect(noGroup.name).toBe('ValidationError');
  });

  it('replaces an Unhealthy NAT through a launch hook completed with the token from the webhook event', async () => {
    // Subscribe a webhook through the lab server's events routes.
    const sub = await fetch(`${base}/events/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: hookUrl, detailTypes: ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance State-change Notification'] }),
    });
    expect(sub.status).toBe(201);
    const { id: subscriptionId } = (await sub.json()) as { id: string };

    await client.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'natkeeper-b',
        LifecycleHookName: 'nat-bootstrap',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        HeartbeatTimeout: 60,
        DefaultResult: 'ABANDON',
      }),
    );
    const victim = manifest.zones[1]!.natInstanceIds[0]!;
    await client.send(new SetInstanceHealthCommand({ InstanceId: victim, HealthStatus: 'Unhealthy' }));

    // The webhook gets the launch lifecycle action for the replacement…
    const event = await until('the launch lifecycle event', () =>
      received.find((e) => e['detail-type'] === 'EC2 Instance-launch Lifecycle Action'),
    );
    const detail = event.detail as LifecycleActionDetail;
    expect(detail).toMatchObject({ AutoScalingGroupName: 'natkeeper-b', LifecycleHookName: 'nat-bootstrap', Origin: 'EC2', Destination: 'AutoScalingGroup' });
    const replacement = detail.EC2InstanceId;
    expect(replacement).not.toBe(victim);
    // …and the victim's state changes.
    await until('the victim’s termination event', () =>
      received.find((e) => e['detail-type'] === 'EC2 Instance State-change Notification' && (e.detail as { 'instance-id': string })['instance-id'] === victim && (e.detail as { state: string }).state === 'terminated'),
    );

    const waiting = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [replacement] }));
    expect(waiting.AutoScalingInstances![0]!.LifecycleState).toBe('Pending:Wait');
    await client.send(
      new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: 'natkeeper-b', LifecycleHookName: 'nat-bootstrap', LifecycleActionToken: detail.LifecycleActionToken }),
    );
    await client.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'natkeeper-b',
        LifecycleHookName: 'nat-bootstrap',
        LifecycleActionToken: detail.LifecycleActionToken,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    const group = (await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['natkeeper-b'] }))).AutoScalingGroups![0]!;
    expect(group.Instances!.map((i) => [i.InstanceId, i.LifecycleState, i.HealthStatus])).toEqual([[replacement, 'InService', 'Healthy']]);
    expect(store.instance(replacement)).toMatchObject({ sourceDestCheck: false, state: 'running', autoScalingGroupName: 'natkeeper-b' });

    const del = await fetch(`${base}/events/subscriptions/${subscriptionId}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const recent = (await (await fetch(`${base}/events/recent`)).json()) as { events: LabEvent[] };
    expect(recent.events.some((e) => e.id === event.id)).toBe(true);
  });
});
