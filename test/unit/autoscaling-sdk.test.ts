// The Auto Scaling service's answers as the official SDK v3 reads them, without a
// network: the SDK's request handler is swapped for one that runs the request
// through the lab's Query dispatch and XML writer (lab/emulator/query/) in process.
// The same actions over real HTTP are in test/integration/autoscaling-api.test.ts.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
  SetInstanceHealthCommand,
  paginateDescribeAutoScalingGroups,
} from '@aws-sdk/client-auto-scaling';
import { afterEach, describe, expect, it } from 'vitest';
import { AutoScalingController } from '../../lab/emulator/autoscaling/controller.js';
import { autoScalingService } from '../../lab/emulator/autoscaling/service.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { ApiError } from '../../lab/emulator/errors.js';
import { resolveCall } from '../../lab/emulator/query/dispatch.js';
import { requestParams } from '../../lab/emulator/query/http.js';
import { errorXml, successXml } from '../../lab/emulator/query/response.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0)) fn();
});

interface SdkRequest {
  body?: unknown;
  path?: string;
  query?: Record<string, string>;
}

function inProcessClient(store: LabStore): AutoScalingClient {
  let n = 0;
  const handle = async (request: SdkRequest) => {
    const requestId = `req-${++n}`;
    const params = requestParams(request.path ?? '/', typeof request.body === 'string' ? request.body : '');
    let status = 200;
    let xml: string;
    try {
      const { service, action, definition } = resolveCall([autoScalingService], params);
      xml = successXml(service, action, requestId, await definition.handler(params, { requestId, store }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status = err.httpStatus;
      xml = errorXml(autoScalingService, requestId, err);
    }
    return {
      response: {
        statusCode: status,
        reason: status === 200 ? 'OK' : 'Error',
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: new TextEncoder().encode(xml),
      },
    };
  };
  const client = new AutoScalingClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'AKIDLAB', secretAccessKey: 'lab' },
    maxAttempts: 1,
    requestHandler: { handle } as never,
  });
  cleanups.push(() => client.destroy());
  return client;
}

function setup(): { store: LabStore; manifest: LabManifest; client: AutoScalingClient; clock: ManualClock } {
  const clock = new ManualClock();
  const { store, manifest } = buildLab(topologySchema.parse({}), clock);
  const ctl = new AutoScalingController({ store });
  ctl.start();
  cleanups.push(() => {
    ctl.stop();
    store.dispose();
  });
  return { store, manifest, client: inProcessClient(store), clock };
}

describe('Auto Scaling answers as @aws-sdk/client-auto-scaling reads them', () => {
  it('DescribeAutoScalingGroups', async () => {
    const { client, manifest } = setup();
    const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['natkeeper-a'] }));
    expect(out.AutoScalingGroups).toHaveLength(1);
    const g = out.AutoScalingGroups![0]!;
    expect(g).toMatchObject({
      AutoScalingGroupName: 'natkeeper-a',
      MinSize: 2,
      MaxSize: 3,
      DesiredCapacity: 2,
      AvailabilityZones: ['us-east-1a'],
      HealthCheckType: 'EC2',
      VPCZoneIdentifier: manifest.zones[0]!.publicSubnetId,
      Tags: [{ ResourceId: 'natkeeper-a', ResourceType: 'auto-scaling-group', Key: 'natkeeper:zone', Value: 'a', PropagateAtLaunch: true }],
      LoadBalancerNames: [],
    });
    expect(g.CreatedTime).toBeInstanceOf(Date);
    expect(g.Instances!.map((i) => [i.InstanceId, i.LifecycleState, i.HealthStatus, i.ProtectedFromScaleIn])).toEqual(
      manifest.zones[0]!.natInstanceIds.map((id) => [id, 'InService', 'Healthy', false]),
    );
    expect(out.NextToken).toBeUndefined();
  });

  it('pages through every group with the SDK paginator', async () => {
    const { client } = setup();
    const names: string[] = [];
    for await (const page of paginateDescribeAutoScalingGroups({ client, pageSize: 1 }, {}))
      names.push(...(page.AutoScalingGroups ?? []).map((g) => g.AutoScalingGroupName!));
    expect(names).toEqual(['natkeeper-a', 'natkeeper-b', 'natkeeper-c']);
  });

  it('DescribeAutoScalingInstances, SetInstanceHealth', async () => {
    const { client, manifest } = setup();
    const id = manifest.zones[1]!.natInstanceIds[0]!;
    await client.send(new SetInstanceHealthCommand({ InstanceId: id, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }));
    const out = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }));
    expect(out.AutoScalingInstances).toEqual([
      {
        InstanceId: id,
        InstanceType: 't4g.nano',
        AutoScalingGroupName: 'natkeeper-b',
        AvailabilityZone: 'us-east-1b',
        LifecycleState: 'Terminating',
        HealthStatus: 'UNHEALTHY',
        ProtectedFromScaleIn: false,
      },
    ]);
  });

  it('lifecycle hooks and actions, and AWS error codes as SDK exceptions', async () => {
    const { client, manifest, store } = setup();
    await client.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'natkeeper-a',
        LifecycleHookName: 'drain',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 300,
        NotificationMetadata: 'hello',
      }),
    );
    const hooks = await client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'natkeeper-a' }));
    expect(hooks.LifecycleHooks).toEqual([
      {
        LifecycleHookName: 'drain',
        AutoScalingGroupName: 'natkeeper-a',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        NotificationMetadata: 'hello',
        HeartbeatTimeout: 300,
        GlobalTimeout: 30000,
        DefaultResult: 'ABANDON',
      },
    ]);
    const id = manifest.zones[0]!.natInstanceIds[1]!;
    await client.send(new SetInstanceHealthCommand({ InstanceId: id, HealthStatus: 'Unhealthy' }));
    await client.send(
      new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'drain', InstanceId: id, LifecycleActionResult: 'CONTINUE' }),
    );
    expect(store.instance(id).state).toBe('shutting-down');

    const err = await client
      .send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'drain', InstanceId: id, LifecycleActionResult: 'CONTINUE' }))
      .then(
        () => undefined,
        (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } },
      );
    expect(err).toMatchObject({ name: 'ValidationError', message: `No active Lifecycle Action found with instance ID ${id}`, $metadata: { httpStatusCode: 400 } });

    const badToken = await client.send(new DescribeAutoScalingGroupsCommand({ NextToken: 'nope' })).then(
      () => ({ name: 'no error' }),
      (e: unknown) => e as { name: string },
    );
    expect(badToken.name).toBe('InvalidNextToken');
  });
});
