// The emulated EC2 API's instance actions through the official SDK v3 client,
// including what a stop does to the routes that point at the instance.
import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeRouteTablesCommand,
  ModifyInstanceAttributeCommand,
  paginateDescribeInstances,
  RebootInstancesCommand,
  ReplaceRouteCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { errorCode, eventually } from '../support/async.js';

let lab: ApiLab;
const zone = (i: number) => lab.manifest.zones[i]!;

async function instance(id: string): Promise<Instance> {
  const out = await lab.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

async function defaultRouteState(rtb: string): Promise<string | undefined> {
  const out = await lab.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  return out.RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.State;
}

beforeAll(async () => {
  lab = await startApiLab();
});
afterAll(() => lab.close());

describe('DescribeInstances', () => {
  it('shows a NAT with its state, placement, ENIs (primary + floating) and their public IPs', async () => {
    const nat = await instance(zone(0).natInstanceIds[0]!);
    const primary = lab.store.primaryInterface(nat.InstanceId!)!;
    expect(nat).toMatchObject({
      State: { Code: 16, Name: 'running' },
      InstanceType: 't4g.nano',
      VpcId: lab.manifest.vpcId,
      SubnetId: zone(0).publicSubnetId,
      Placement: expect.objectContaining({ AvailabilityZone: 'us-east-1a' }),
      PrivateIpAddress: primary.privateIpAddress,
      SourceDestCheck: false,
    });
    expect(nat.PublicIpAddress).toMatch(/^203\.0\.113\./);
    expect(nat.LaunchTime).toBeInstanceOf(Date);
    expect(nat.NetworkInterfaces!.map((e) => [e.NetworkInterfaceId, e.Attachment!.DeviceIndex, e.Attachment!.Status])).toEqual([
      [primary.networkInterfaceId, 0, 'attached'],
      [zone(0).floatingEniId, 1, 'attached'],
    ]);
    expect(nat.NetworkInterfaces![1]!.Association!.PublicIp).toMatch(/^203\.0\.113\./);
    expect(nat.Tags).toContainEqual({ Key: 'natkeeper:role', Value: 'nat' });
  });

  it.each<[string, () => { Name: string; Values: string[] }[], () => string[]]>([
    ['tag:natkeeper:role', () => [{ Name: 'tag:natkeeper:role', Values: ['nat'] }], () => lab.manifest.zones.flatMap((z) => z.natInstanceIds)],
    [
      'availability-zone + tag:Name wildcard',
      () => [
        { Name: 'availability-zone', Values: ['us-east-1a'] },
        { Name: 'tag:Name', Values: ['nat-*'] },
      ],
      () => zone(0).natInstanceIds,
    ],
    ['subnet-id', () => [{ Name: 'subnet-id', Values: [zone(1).privateSubnetIds[0]!] }], () => zone(1).appInstanceIds],
    ['network-interface.network-interface-id', () => [{ Name: 'network-interface.network-interface-id', Values: [zone(2).floatingEniId!] }], () => [zone(2).natInstanceIds[0]!]],
    ['instance-id', () => [{ Name: 'instance-id', Values: [zone(1).natInstanceIds[0]!] }], () => [zone(1).natInstanceIds[0]!]],
  ])('filter %s', async (_name, filters, expected) => {
    const out = await lab.ec2.send(new DescribeInstancesCommand({ Filters: filters() }));
    const ids = out.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId));
    expect(ids.sort()).toEqual([...expected()].sort());
  });

  it('paginates with MaxResults and refuses MaxResults with InstanceIds', async () => {
    const all = lab.manifest.zones.flatMap((z) => [...z.natInstanceIds, ...z.appInstanceIds]);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: lab.ec2, pageSize: 5 }, {})) {
      pages++;
      seen.push(...page.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!)));
    }
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(all.sort());
    expect(await errorCode(lab.ec2.send(new DescribeInstancesCommand({ InstanceIds: [all[0]!], MaxResults: 5 })))).toBe('InvalidParameterCombination');
    expect(await errorCode(lab.ec2.send(new DescribeInstancesCommand({ MaxResults: 1001 })))).toBe('InvalidParameterValue');
  });

  it('unknown IDs are InvalidInstanceID.NotFound, malformed ones InvalidInstanceID.Malformed', async () => {
    expect(await errorCode(lab.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).toBe('InvalidInstanceID.NotFound');
    expect(await errorCode(lab.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-nope'] })))).toBe('InvalidInstanceID.Malformed');
    expect(await errorCode(lab.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['eni-0123456789abcdef0'] })))).toBe('InvalidInstanceID.Malformed');
  });
});

describe('DescribeInstanceStatus', () => {
  it('shows running instances with ok checks; IncludeAllInstances adds the others', async () => {
    const app = zone(2).appInstanceIds[0]!;
    const out = await lab.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [app] }));
    expect(out.InstanceStatuses).toEqual([
      expect.objectContaining({
        InstanceId: app,
        AvailabilityZone: 'us-east-1c',
        InstanceState: { Code: 16, Name: 'running' },
        InstanceStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
        SystemStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
      }),
    ]);
    lab.store.setStatusCheck(app, 'impaired');
    const impaired = await lab.ec2.send(new DescribeInstanceStatusCommand({ Filters: [{ Name: 'instance-status.status', Values: ['impaired'] }] }));
    expect(impaired.InstanceStatuses!.map((s) => s.InstanceId)).toEqual([app]);
    lab.store.setStatusCheck(app, 'ok');
  });
});

describe('StopInstances / StartInstances / RebootInstances', () => {
  it('stop turns the routes through the NAT into blackholes; start brings them back', async () => {
    const nat = zone(1).natInstanceIds[0]!;
    const rtb = zone(1).privateRouteTableIds[0]!; // routes to the floating ENI on this NAT
    expect(await defaultRouteState(rtb)).toBe('active');

    const stop = await lab.ec2.send(new StopInstancesCommand({ InstanceIds: [nat], Force: true }));
    expect(stop.StoppingInstances).toEqual([{ InstanceId: nat, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }]);
    expect(await defaultRouteState(rtb)).toBe('blackhole');
    await eventually(async () => expect((await instance(nat)).State).toEqual({ Code: 80, Name: 'stopped' }));
    const status = await lab.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [nat], IncludeAllInstances: true }));
    expect(status.InstanceStatuses![0]!.InstanceStatus!.Status).toBe('not-applicable');
    expect((await lab.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [nat] }))).InstanceStatuses).toEqual([]);
    expect(await errorCode(lab.ec2.send(new RebootInstancesCommand({ InstanceIds: [nat] })))).toBe('IncorrectInstanceState');

    const start = await lab.ec2.send(new StartInstancesCommand({ InstanceIds: [nat] }));
    expect(start.StartingInstances![0]).toEqual({ InstanceId: nat, CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } });
    await eventually(async () => expect(await defaultRouteState(rtb)).toBe('active'));
    await eventually(async () => expect((await instance(nat)).State!.Name).toBe('running'));
    expect(await lab.ec2.send(new RebootInstancesCommand({ InstanceIds: [nat] }))).toBeDefined();
  });

  it('a route straight to an instance turns blackhole when that instance stops', async () => {
    const standby = zone(0).natInstanceIds[1]!;
    const rtb = zone(0).privateRouteTableIds[0]!;
    await lab.ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', InstanceId: standby }));
    expect(await defaultRouteState(rtb)).toBe('active');
    await lab.ec2.send(new StopInstancesCommand({ InstanceIds: [standby] }));
    expect(await defaultRouteState(rtb)).toBe('blackhole');
    await eventually(async () => expect((await instance(standby)).State!.Name).toBe('stopped'));
    await lab.ec2.send(new StartInstancesCommand({ InstanceIds: [standby] }));
    await eventually(async () => expect(await defaultRouteState(rtb)).toBe('active'));
  });

  it('one unknown instance fails the whole call and changes nothing', async () => {
    const app = zone(0).appInstanceIds[0]!;
    expect(await errorCode(lab.ec2.send(new StopInstancesCommand({ InstanceIds: [app, 'i-0123456789abcdef0'] })))).toBe('InvalidInstanceID.NotFound');
    expect(lab.store.instance(app).state).toBe('running');
    expect(await errorCode(lab.ec2.send(new StartInstancesCommand({ InstanceIds: [] })))).toBe('MissingParameter');
    expect(await errorCode(lab.ec2.send(new RebootInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).toBe('InvalidInstanceID.NotFound');
  });
});

describe('ModifyInstanceAttribute', () => {
  it('turns source/dest check off on a single-ENI instance, visible on the instance and its ENI', async () => {
    const app = zone(2).appInstanceIds[0]!;
    await lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: app, SourceDestCheck: { Value: false } }));
    const inst = await instance(app);
    expect(inst.SourceDestCheck).toBe(false);
    expect(inst.NetworkInterfaces![0]!.SourceDestCheck).toBe(false);
    await lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: app, SourceDestCheck: { Value: true } }));
    expect((await instance(app)).SourceDestCheck).toBe(true);
  });

  it('refuses the instance-level flag on an instance with two ENIs, as EC2 does', async () => {
    expect(await errorCode(lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: zone(2).natInstanceIds[0]!, SourceDestCheck: { Value: true } })))).toBe(
      'InvalidInstanceID',
    );
  });

  it('refuses other attributes and an empty modification', async () => {
    const app = zone(2).appInstanceIds[0]!;
    expect(await errorCode(lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: app, InstanceType: { Value: 't3.micro' } })))).toBe('UnsupportedOperation');
    expect(await errorCode(lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: app })))).toBe('InvalidParameterCombination');
    expect(await errorCode(lab.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: 'i-0123456789abcdef0', SourceDestCheck: { Value: false } })))).toBe(
      'InvalidInstanceID.NotFound',
    );
  });
});

describe('TerminateInstances', () => {
  it('terminates: shutting-down then terminated; its routes blackhole; it stays describable', async () => {
    const nat = zone(2).natInstanceIds[0]!;
    const rtb = zone(2).privateRouteTableIds[0]!;
    const out = await lab.ec2.send(new TerminateInstancesCommand({ InstanceIds: [nat] }));
    expect(out.TerminatingInstances![0]).toEqual({ InstanceId: nat, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } });
    expect(await defaultRouteState(rtb)).toBe('blackhole');
    await eventually(async () => expect((await instance(nat)).State).toEqual({ Code: 48, Name: 'terminated' }));
    const again = await lab.ec2.send(new TerminateInstancesCommand({ InstanceIds: [nat] }));
    expect(again.TerminatingInstances![0]!.CurrentState!.Name).toBe('terminated');
    expect(await errorCode(lab.ec2.send(new StartInstancesCommand({ InstanceIds: [nat] })))).toBe('IncorrectInstanceState');
  });
});
