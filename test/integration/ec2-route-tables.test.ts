// The emulated EC2 API's VPC, subnet and route-table actions through the
// official SDK v3 client: what natkeeper's observe and route-replace paths call.
import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  paginateDescribeRouteTables,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type Filter,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { errorCode } from '../support/async.js';

/** The SDK error's code (its name), or "no error". */
const EXTRA_PER_ZONE = 60;
let lab: ApiLab;
const zone = (i: number) => lab.manifest.zones[i]!;
const defaultRoute = (rt: RouteTable | undefined) => rt?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');

async function tables(filters: Filter[] = [], ids?: string[]): Promise<RouteTable[]> {
  const out = await lab.ec2.send(new DescribeRouteTablesCommand({ Filters: filters, ...(ids ? { RouteTableIds: ids } : {}) }));
  return out.RouteTables ?? [];
}

beforeAll(async () => {
  const zones = ['a', 'b', 'c'].map((name, i) => ({
    name,
    publicSubnet: `10.0.${i}.0/24`,
    privateSubnets: [`10.0.${100 + i}.0/24`, `10.0.${110 + i}.0/24`],
    natInstances: i === 0 ? 2 : 1,
    extraPrivateRouteTables: EXTRA_PER_ZONE,
  }));
  lab = await startApiLab({ topology: { zones } });
});
afterAll(() => lab.close());

describe('DescribeVpcs / DescribeSubnets', () => {
  it('describe the lab VPC with its CIDR and tags', async () => {
    const out = await lab.ec2.send(new DescribeVpcsCommand({}));
    expect(out.Vpcs).toHaveLength(1);
    expect(out.Vpcs![0]).toMatchObject({ VpcId: lab.manifest.vpcId, CidrBlock: '10.0.0.0/16', State: 'available', IsDefault: false });
    expect(out.Vpcs![0]!.Tags).toContainEqual({ Key: 'Name', Value: 'natkeeper-lab' });
  });

  it('unknown and malformed VPC IDs get their AWS codes', async () => {
    expect(await errorCode(lab.ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })))).toBe('InvalidVpcID.NotFound');
    expect(await errorCode(lab.ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-zz'] })))).toBe('InvalidVpcID.Malformed');
  });

  it('filters subnets by vpc-id and availability-zone, and by tag with wildcards', async () => {
    const all = await lab.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [lab.manifest.vpcId] }] }));
    expect(all.Subnets).toHaveLength(9);
    const inA = await lab.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1a'] }] }));
    expect(inA.Subnets!.map((s) => s.SubnetId).sort()).toEqual([zone(0).publicSubnetId, ...zone(0).privateSubnetIds].sort());
    const privateA = await lab.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:Name', Values: ['private-a*'] }] }));
    expect(privateA.Subnets!.map((s) => s.SubnetId).sort()).toEqual([...zone(0).privateSubnetIds].sort());
    expect(privateA.Subnets![0]).toMatchObject({ VpcId: lab.manifest.vpcId, AvailabilityZone: 'us-east-1a', State: 'available' });
    expect(privateA.Subnets![0]!.AvailableIpAddressCount).toBeGreaterThan(200);
  });

  it('unknown subnet IDs are all named in InvalidSubnetID.NotFound', async () => {
    const ids = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
    try {
      await lab.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [zone(0).publicSubnetId, ...ids] }));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).name).toBe('InvalidSubnetID.NotFound');
      for (const id of ids) expect((e as Error).message).toContain(id);
    }
  });
});

describe('DescribeRouteTables', () => {
  it('shows routes with target, origin and state; a route to an attached ENI also names its instance', async () => {
    const [rt] = await tables([], [zone(0).privateRouteTableIds[0]!]);
    expect(rt!.VpcId).toBe(lab.manifest.vpcId);
    expect(rt!.Routes).toContainEqual(expect.objectContaining({ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' }));
    expect(defaultRoute(rt)).toMatchObject({
      NetworkInterfaceId: zone(0).floatingEniId,
      InstanceId: zone(0).natInstanceIds[0],
      InstanceOwnerId: '123456789012',
      State: 'active',
      Origin: 'CreateRoute',
    });
    expect(rt!.Associations).toEqual([
      expect.objectContaining({ SubnetId: zone(0).privateSubnetIds[0], RouteTableId: rt!.RouteTableId, Main: false, AssociationState: { State: 'associated' } }),
    ]);
    expect(rt!.Tags).toContainEqual({ Key: 'natkeeper:zone', Value: 'a' });
  });

  it('the public table routes to the internet gateway; the main table is marked main', async () => {
    const [pub] = await tables([{ Name: 'association.subnet-id', Values: [zone(1).publicSubnetId] }]);
    expect(pub!.RouteTableId).toBe(zone(1).publicRouteTableId);
    expect(defaultRoute(pub)).toMatchObject({ GatewayId: lab.manifest.internetGatewayId, State: 'active' });
    const main = await tables([{ Name: 'association.main', Values: ['true'] }]);
    expect(main).toHaveLength(1);
    expect(main[0]!.Associations![0]!.Main).toBe(true);
  });

  it.each<[string, () => Filter[], () => string[]]>([
    ['route-table-id', () => [{ Name: 'route-table-id', Values: [zone(2).publicRouteTableId] }], () => [zone(2).publicRouteTableId]],
    ['association.route-table-id', () => [{ Name: 'association.route-table-id', Values: [zone(2).publicRouteTableId] }], () => [zone(2).publicRouteTableId]],
    [
      'association.subnet-id (any of two values)',
      () => [{ Name: 'association.subnet-id', Values: zone(1).privateSubnetIds }],
      () => zone(1).privateRouteTableIds.slice(0, 2),
    ],
    ['route.network-interface-id', () => [{ Name: 'route.network-interface-id', Values: [zone(2).floatingEniId!] }], () => zone(2).privateRouteTableIds],
    ['route.instance-id (through the ENI)', () => [{ Name: 'route.instance-id', Values: [zone(2).natInstanceIds[0]!] }], () => zone(2).privateRouteTableIds],
    [
      'tag:Name with * and ? wildcards',
      () => [{ Name: 'tag:Name', Values: ['private-?1', 'extra-c5?'] }],
      () => [
        ...['a', 'b', 'c'].map((_, i) => zone(i).privateRouteTableIds[0]!),
        ...Array.from({ length: 10 }, (_, k) => zone(2).privateRouteTableIds[51 + k]!), // extra-c50 … extra-c59
      ],
    ],
    [
      'tag-key + vpc-id (ANDed)',
      () => [
        { Name: 'tag-key', Values: ['natkeeper:zone'] },
        { Name: 'vpc-id', Values: [lab.manifest.vpcId] },
      ],
      () => lab.manifest.zones.flatMap((z) => z.privateRouteTableIds),
    ],
    ['tag-value', () => [{ Name: 'tag-value', Values: ['public-b'] }], () => [zone(1).publicRouteTableId]],
  ])('filter %s', async (_name, filters, expected) => {
    const ids = (await tables(filters())).map((t) => t.RouteTableId).sort();
    expect(ids).toEqual([...expected()].sort());
  });

  it('an unknown filter is InvalidParameterValue', async () => {
    expect(await errorCode(lab.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.colour', Values: ['x'] }] })))).toBe('InvalidParameterValue');
  });

  it('unknown and malformed IDs get InvalidRouteTableID.NotFound / InvalidRouteTableId.Malformed', async () => {
    expect(await errorCode(tables([], ['rtb-0123456789abcdef0']))).toBe('InvalidRouteTableID.NotFound');
    expect(await errorCode(tables([], ['rtb-xyz']))).toBe('InvalidRouteTableId.Malformed');
    expect(await errorCode(tables([], ['sg-0123456789abcdef0']))).toBe('InvalidRouteTableId.Malformed');
  });

  it('paginates: MaxResults pages cover every table once, with the same content as one unpaged call', async () => {
    const unpaged = await tables();
    expect(unpaged).toHaveLength(1 + 3 + 6 + 3 * EXTRA_PER_ZONE);
    const pages: RouteTable[][] = [];
    for await (const page of paginateDescribeRouteTables({ client: lab.ec2, pageSize: 100 }, {})) pages.push(page.RouteTables ?? []);
    expect(pages.map((p) => p.length)).toEqual([100, 90]);
    expect(pages.flat()).toEqual(unpaged);
  });

  it('paginates a filtered list', async () => {
    const filters = [{ Name: 'tag:natkeeper:zone', Values: ['b'] }];
    const first = await lab.ec2.send(new DescribeRouteTablesCommand({ Filters: filters, MaxResults: 50 }));
    expect(first.RouteTables).toHaveLength(50);
    const second = await lab.ec2.send(new DescribeRouteTablesCommand({ Filters: filters, MaxResults: 50, NextToken: first.NextToken }));
    expect(second.RouteTables).toHaveLength(2 + EXTRA_PER_ZONE - 50);
    expect(second.NextToken).toBeUndefined();
    const ids = [...first.RouteTables!, ...second.RouteTables!].map((t) => t.RouteTableId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('MaxResults outside 5..100 and a forged NextToken are refused', async () => {
    expect(await errorCode(lab.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 101 })))).toBe('InvalidParameterValue');
    expect(await errorCode(lab.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 4 })))).toBe('InvalidParameterValue');
    expect(await errorCode(lab.ec2.send(new DescribeRouteTablesCommand({ NextToken: 'not-a-token' })))).toBe('InvalidPaginationToken');
  });
});

describe('CreateRoute / ReplaceRoute / DeleteRoute', () => {
  it('replaces the default route to the zone standby NAT; Describe shows the instance and its primary ENI', async () => {
    const rtb = zone(0).privateRouteTableIds[1]!;
    const standby = zone(0).natInstanceIds[1]!;
    await lab.ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', InstanceId: standby }));
    const [rt] = await tables([], [rtb]);
    expect(defaultRoute(rt)).toMatchObject({ InstanceId: standby, NetworkInterfaceId: lab.store.primaryInterface(standby)!.networkInterfaceId, State: 'active' });
    const byRoute = await tables([{ Name: 'route.instance-id', Values: [standby] }]);
    expect(byRoute.map((t) => t.RouteTableId)).toEqual([rtb]);
  });

  it('creates and deletes a route to an ENI', async () => {
    const rtb = zone(1).privateRouteTableIds[2]!;
    await lab.ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24', NetworkInterfaceId: zone(1).floatingEniId }));
    expect((await tables([], [rtb]))[0]!.Routes!.map((r) => r.DestinationCidrBlock)).toContain('198.51.100.0/24');
    expect(await errorCode(lab.ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24', GatewayId: lab.manifest.internetGatewayId })))).toBe(
      'RouteAlreadyExists',
    );
    await lab.ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24' }));
    expect((await tables([], [rtb]))[0]!.Routes!.map((r) => r.DestinationCidrBlock)).not.toContain('198.51.100.0/24');
    expect(await errorCode(lab.ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24' })))).toBe('InvalidRoute.NotFound');
  });

  it.each<[string, ConstructorParameters<typeof ReplaceRouteCommand>[0], string]>([
    ['unknown route table', { RouteTableId: 'rtb-0123456789abcdef0', DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'local' }, 'InvalidRouteTableID.NotFound'],
    ['malformed route table', { RouteTableId: 'rtb-1', DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'local' }, 'InvalidRouteTableId.Malformed'],
    ['unknown instance', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/0', InstanceId: 'i-0123456789abcdef0' }, 'InvalidInstanceID.NotFound'],
    ['malformed instance', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/0', InstanceId: 'i-bogus' }, 'InvalidInstanceID.Malformed'],
    ['unknown ENI', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: 'eni-0123456789abcdef0' }, 'InvalidNetworkInterfaceID.NotFound'],
    ['no target', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/0' }, 'MissingParameter'],
    ['two targets', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'GW', NetworkInterfaceId: 'ENI' }, 'InvalidParameterValue'],
    ['bad CIDR', { RouteTableId: 'RTB', DestinationCidrBlock: '0.0.0.0/33', GatewayId: 'GW' }, 'InvalidParameterValue'],
    ['no such route', { RouteTableId: 'RTB', DestinationCidrBlock: '192.0.2.0/24', GatewayId: 'GW' }, 'InvalidParameterValue'],
    ['the local route', { RouteTableId: 'RTB', DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'GW' }, 'InvalidParameterValue'],
  ])('ReplaceRoute with %s → %s', async (_what, input, code) => {
    const rtb = zone(2).privateRouteTableIds[3]!;
    const before = lab.store.routeTable(rtb);
    const resolved = {
      ...input,
      RouteTableId: input.RouteTableId === 'RTB' ? rtb : input.RouteTableId,
      ...(input.GatewayId === 'GW' ? { GatewayId: lab.manifest.internetGatewayId } : {}),
      ...(input.NetworkInterfaceId === 'ENI' ? { NetworkInterfaceId: zone(2).floatingEniId } : {}),
    };
    expect(await errorCode(lab.ec2.send(new ReplaceRouteCommand(resolved)))).toBe(code);
    expect(lab.store.routeTable(rtb)).toBe(before); // refused calls change nothing
  });
});

describe('AssociateRouteTable / ReplaceRouteTableAssociation', () => {
  it('swaps a subnet to another table and back (association-swap strategy)', async () => {
    const subnet = zone(0).privateSubnetIds[0]!;
    const healthy = zone(1).privateRouteTableIds[5]!;
    const [current] = await tables([{ Name: 'association.subnet-id', Values: [subnet] }]);
    const assoc = current!.Associations!.find((a) => a.SubnetId === subnet)!;
    const swapped = await lab.ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: assoc.RouteTableAssociationId, RouteTableId: healthy }));
    expect(swapped.NewAssociationId).toMatch(/^rtbassoc-/);
    expect(swapped.AssociationState).toEqual({ State: 'associated' });
    const [now] = await tables([{ Name: 'association.subnet-id', Values: [subnet] }]);
    expect(now!.RouteTableId).toBe(healthy);
    await lab.ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: swapped.NewAssociationId, RouteTableId: current!.RouteTableId }));
    const [back] = await tables([{ Name: 'association.subnet-id', Values: [subnet] }]);
    expect(back!.RouteTableId).toBe(current!.RouteTableId);
    expect(await errorCode(lab.ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: 'rtbassoc-0123456789abcdef0', RouteTableId: healthy })))).toBe(
      'InvalidAssociationID.NotFound',
    );
  });

  it('associates a table with a new subnet; a second association is Resource.AlreadyAssociated', async () => {
    const rtb = zone(2).privateRouteTableIds[10]!;
    // Every topology subnet already has a table: add a bare one, as CreateSubnet would.
    const subnet = lab.store.addSubnet(lab.manifest.vpcId, '10.0.200.0/24', 'us-east-1c', false).subnetId;
    const out = await lab.ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnet }));
    expect(out.AssociationId).toMatch(/^rtbassoc-/);
    expect(out.AssociationState).toEqual({ State: 'associated' });
    const [mine] = await tables([{ Name: 'association.subnet-id', Values: [subnet] }]);
    expect(mine!.RouteTableId).toBe(rtb);
    expect(mine!.Associations).toContainEqual(expect.objectContaining({ RouteTableAssociationId: out.AssociationId, SubnetId: subnet }));
    expect(await errorCode(lab.ec2.send(new AssociateRouteTableCommand({ RouteTableId: zone(2).privateRouteTableIds[11]!, SubnetId: subnet })))).toBe(
      'Resource.AlreadyAssociated',
    );
    expect(await errorCode(lab.ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: 'subnet-0123456789abcdef0' })))).toBe(
      'InvalidSubnetID.NotFound',
    );
  });
});
