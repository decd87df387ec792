// The emulated EC2 API's ENI, Elastic IP and tag actions through the official
// SDK v3 client: what natkeeper's eni-move strategy and its discovery call.
import {
  AssociateAddressCommand,
  AttachNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeTagsCommand,
  DetachNetworkInterfaceCommand,
  DisassociateAddressCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { errorCode, eventually } from '../support/async.js';

let lab: ApiLab;
const zone = (i: number) => lab.manifest.zones[i]!;

async function eni(id: string): Promise<NetworkInterface> {
  const out = await lab.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }));
  return out.NetworkInterfaces![0]!;
}

async function defaultRouteState(rtb: string): Promise<string | undefined> {
  const out = await lab.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  return out.RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.State;
}

beforeAll(async () => {
  lab = await startApiLab();
});
afterAll(() => lab.close());

describe('DescribeNetworkInterfaces', () => {
  it('shows a floating ENI with its attachment, EIP association and flags', async () => {
    const e = await eni(zone(0).floatingEniId!);
    expect(e).toMatchObject({
      SubnetId: zone(0).publicSubnetId,
      VpcId: lab.manifest.vpcId,
      AvailabilityZone: 'us-east-1a',
      Status: 'in-use',
      SourceDestCheck: false,
      Description: 'natkeeper floating ENI a',
      Attachment: { InstanceId: zone(0).natInstanceIds[0], DeviceIndex: 1, Status: 'attached', DeleteOnTermination: false },
      Association: { AllocationId: zone(0).floatingAllocationId, IpOwnerId: '123456789012' },
    });
    expect(e.Association!.PublicIp).toMatch(/^203\.0\.113\./);
    expect(e.PrivateIpAddress).toMatch(/^10\.0\.0\./);
    expect(e.MacAddress).toMatch(/^02:/);
    expect(e.Attachment!.AttachTime).toBeInstanceOf(Date);
    expect(e.TagSet).toContainEqual({ Key: 'natkeeper:floating', Value: 'a' });
  });

  it.each<[string, () => { Name: string; Values: string[] }[], () => string[]]>([
    [
      'attachment.instance-id',
      () => [{ Name: 'attachment.instance-id', Values: [zone(0).natInstanceIds[0]!] }],
      () => [lab.store.primaryInterface(zone(0).natInstanceIds[0]!)!.networkInterfaceId, zone(0).floatingEniId!],
    ],
    [
      'attachment.status + tag-key',
      () => [
        { Name: 'attachment.status', Values: ['attached'] },
        { Name: 'tag-key', Values: ['natkeeper:floating'] },
      ],
      () => lab.manifest.zones.map((z) => z.floatingEniId!),
    ],
    ['network-interface-id', () => [{ Name: 'network-interface-id', Values: [zone(1).floatingEniId!] }], () => [zone(1).floatingEniId!]],
    [
      'private-ip-address',
      () => [{ Name: 'private-ip-address', Values: [lab.store.networkInterface(zone(2).floatingEniId!).privateIpAddress] }],
      () => [zone(2).floatingEniId!],
    ],
    ['status', () => [{ Name: 'status', Values: ['available'] }], () => []],
    ['association.allocation-id', () => [{ Name: 'association.allocation-id', Values: [zone(1).floatingAllocationId!] }], () => [zone(1).floatingEniId!]],
  ])('filter %s', async (_name, filters, expected) => {
    const out = await lab.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: filters() }));
    expect(out.NetworkInterfaces!.map((e) => e.NetworkInterfaceId).sort()).toEqual([...expected()].sort());
  });

  it('unknown and malformed IDs get their AWS codes', async () => {
    expect(await errorCode(eni('eni-0123456789abcdef0'))).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(await errorCode(eni('eni-x'))).toBe('InvalidNetworkInterfaceId.Malformed');
  });
});

describe('DetachNetworkInterface / AttachNetworkInterface (eni-move)', () => {
  it('detach passes through detaching to available; routes to the ENI blackhole; attach passes through attaching', async () => {
    const floating = zone(1).floatingEniId!;
    const nat = zone(1).natInstanceIds[0]!;
    const rtb = zone(1).privateRouteTableIds[0]!;
    const attachmentId = (await eni(floating)).Attachment!.AttachmentId!;

    await lab.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
    expect((await eni(floating)).Attachment!.Status).toBe('detaching');
    expect(await defaultRouteState(rtb)).toBe('blackhole');
    await eventually(async () => {
      const e = await eni(floating);
      expect(e.Status).toBe('available');
      expect(e.Attachment).toBeUndefined();
    });
    const detached = await lab.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }));
    expect(detached.NetworkInterfaces!.map((e) => e.NetworkInterfaceId)).toEqual([floating]);
    expect(await errorCode(lab.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })))).toBe('InvalidAttachmentID.NotFound');

    const attached = await lab.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: floating, InstanceId: nat, DeviceIndex: 1 }));
    expect(attached.AttachmentId).toMatch(/^eni-attach-/);
    const attaching = await eni(floating);
    expect([attaching.Status, attaching.Attachment!.Status, attaching.Attachment!.AttachmentId]).toEqual(['in-use', 'attaching', attached.AttachmentId]);
    expect(await defaultRouteState(rtb)).toBe('blackhole');
    await eventually(async () => expect((await eni(floating)).Attachment!.Status).toBe('attached'));
    expect(await defaultRouteState(rtb)).toBe('active');
  });

  it('a forced detach takes effect at once', async () => {
    const floating = zone(2).floatingEniId!;
    const attachmentId = (await eni(floating)).Attachment!.AttachmentId!;
    await lab.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId, Force: true }));
    expect((await eni(floating)).Status).toBe('available');
    await lab.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: floating, InstanceId: zone(2).natInstanceIds[0]!, DeviceIndex: 1 }));
  });

  it.each<[string, () => ConstructorParameters<typeof AttachNetworkInterfaceCommand>[0], string]>([
    ['an ENI in use', () => ({ NetworkInterfaceId: zone(0).floatingEniId!, InstanceId: zone(0).natInstanceIds[1]!, DeviceIndex: 1 }), 'InvalidNetworkInterface.InUse'],
    ['an unknown instance', () => ({ NetworkInterfaceId: zone(0).floatingEniId!, InstanceId: 'i-0123456789abcdef0', DeviceIndex: 1 }), 'InvalidInstanceID.NotFound'],
    ['an unknown ENI', () => ({ NetworkInterfaceId: 'eni-0123456789abcdef0', InstanceId: zone(0).natInstanceIds[1]!, DeviceIndex: 1 }), 'InvalidNetworkInterfaceID.NotFound'],
    ['a bad device index', () => ({ NetworkInterfaceId: zone(0).floatingEniId!, InstanceId: zone(0).natInstanceIds[1]!, DeviceIndex: -1 }), 'InvalidParameterValue'],
  ])('attaching %s → %s', async (_what, input, code) => {
    expect(await errorCode(lab.ec2.send(new AttachNetworkInterfaceCommand(input())))).toBe(code);
  });

  it('the primary ENI cannot be detached; a malformed attachment ID is refused', async () => {
    const primary = lab.store.primaryInterface(zone(0).natInstanceIds[1]!)!;
    expect(await errorCode(lab.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: primary.attachment!.attachmentId })))).toBe('OperationNotPermitted');
    expect(await errorCode(lab.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'attach-1' })))).toBe('InvalidNetworkInterfaceAttachmentId.Malformed');
  });
});

describe('ModifyNetworkInterfaceAttribute', () => {
  it('sets the source/dest check of one ENI', async () => {
    const floating = zone(0).floatingEniId!;
    await lab.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: floating, SourceDestCheck: { Value: true } }));
    expect((await eni(floating)).SourceDestCheck).toBe(true);
    await lab.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: floating, SourceDestCheck: { Value: false } }));
    expect((await eni(floating)).SourceDestCheck).toBe(false);
    expect(await errorCode(lab.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: floating })))).toBe('InvalidParameterCombination');
    expect(await errorCode(lab.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: floating, Description: { Value: 'x' } })))).toBe(
      'UnsupportedOperation',
    );
  });
});

describe('DescribeAddresses / AssociateAddress / DisassociateAddress', () => {
  it('describes EIPs with their association, ENI, private IP and instance', async () => {
    const out = await lab.ec2.send(new DescribeAddressesCommand({ AllocationIds: [zone(0).floatingAllocationId!] }));
    const floating = lab.store.networkInterface(zone(0).floatingEniId!);
    expect(out.Addresses).toEqual([
      expect.objectContaining({
        AllocationId: zone(0).floatingAllocationId,
        Domain: 'vpc',
        NetworkInterfaceId: floating.networkInterfaceId,
        PrivateIpAddress: floating.privateIpAddress,
        InstanceId: zone(0).natInstanceIds[0],
        NetworkInterfaceOwnerId: '123456789012',
      }),
    ]);
    expect(out.Addresses![0]!.AssociationId).toMatch(/^eipassoc-/);
  });

  it.each<[string, () => { Name: string; Values: string[] }[], () => string[]]>([
    ['allocation-id', () => [{ Name: 'allocation-id', Values: [zone(1).floatingAllocationId!] }], () => [zone(1).floatingAllocationId!]],
    ['network-interface-id', () => [{ Name: 'network-interface-id', Values: [zone(2).floatingEniId!] }], () => [zone(2).floatingAllocationId!]],
    ['instance-id (primary + floating ENI)', () => [{ Name: 'instance-id', Values: [zone(1).natInstanceIds[0]!] }], () => [lab.store.addresses.values().find((a) => a.tags.some((t) => t.value === 'nat-b1'))!.allocationId, zone(1).floatingAllocationId!]],
    ['tag:Name', () => [{ Name: 'tag:Name', Values: ['floating-*'] }], () => lab.manifest.zones.map((z) => z.floatingAllocationId!)],
  ])('filter %s', async (_name, filters, expected) => {
    const out = await lab.ec2.send(new DescribeAddressesCommand({ Filters: filters() }));
    expect(out.Addresses!.map((a) => a.AllocationId).sort()).toEqual([...expected()].sort());
  });

  it('selects by PublicIp; unknown IPs and allocations get their AWS codes', async () => {
    const ip = lab.store.address(zone(0).floatingAllocationId!).publicIp;
    const byIp = await lab.ec2.send(new DescribeAddressesCommand({ PublicIps: [ip], Filters: [{ Name: 'public-ip', Values: [ip] }] }));
    expect(byIp.Addresses!.map((a) => a.AllocationId)).toEqual([zone(0).floatingAllocationId]);
    expect(await errorCode(lab.ec2.send(new DescribeAddressesCommand({ PublicIps: ['192.0.2.1'] })))).toBe('InvalidAddress.NotFound');
    expect(await errorCode(lab.ec2.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-0123456789abcdef0'] })))).toBe('InvalidAllocationID.NotFound');
  });

  it('moves an EIP: refused without reassociation, then to an ENI by default, then disassociated', async () => {
    const alloc = zone(2).floatingAllocationId!;
    const target = lab.store.primaryInterface(zone(2).appInstanceIds[0]!)!.networkInterfaceId;
    expect(await errorCode(lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, NetworkInterfaceId: target, AllowReassociation: false })))).toBe(
      'Resource.AlreadyAssociated',
    );
    const moved = await lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, NetworkInterfaceId: target }));
    expect(moved.AssociationId).toMatch(/^eipassoc-/);
    const after = await lab.ec2.send(new DescribeAddressesCommand({ AllocationIds: [alloc] }));
    expect(after.Addresses![0]).toMatchObject({ NetworkInterfaceId: target, AssociationId: moved.AssociationId, InstanceId: zone(2).appInstanceIds[0] });
    expect((await eni(zone(2).floatingEniId!)).Association).toBeUndefined();

    await lab.ec2.send(new DisassociateAddressCommand({ AssociationId: moved.AssociationId }));
    const loose = await lab.ec2.send(new DescribeAddressesCommand({ AllocationIds: [alloc] }));
    expect(loose.Addresses![0]!.AssociationId).toBeUndefined();
    expect(await errorCode(lab.ec2.send(new DisassociateAddressCommand({ AssociationId: moved.AssociationId })))).toBe('InvalidAssociationID.NotFound');

    // Back to the floating ENI, addressed by instance: a one-ENI instance is fine, a two-ENI one is not.
    expect(await errorCode(lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, InstanceId: zone(2).natInstanceIds[0]! })))).toBe('InvalidInstanceID');
    const byInstance = await lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, InstanceId: zone(2).appInstanceIds[0]! }));
    expect(byInstance.AssociationId).toMatch(/^eipassoc-/);
    await lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, NetworkInterfaceId: zone(2).floatingEniId!, AllowReassociation: true }));
    expect((await eni(zone(2).floatingEniId!)).Association!.AllocationId).toBe(alloc);
  });

  it('refuses incomplete or unknown associations', async () => {
    const alloc = zone(1).floatingAllocationId!;
    expect(await errorCode(lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc })))).toBe('MissingParameter');
    expect(await errorCode(lab.ec2.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0', NetworkInterfaceId: zone(1).floatingEniId! })))).toBe(
      'InvalidAllocationID.NotFound',
    );
    expect(
      await errorCode(lab.ec2.send(new AssociateAddressCommand({ AllocationId: alloc, NetworkInterfaceId: zone(1).floatingEniId!, InstanceId: zone(1).natInstanceIds[0]! }))),
    ).toBe('InvalidParameterCombination');
  });
});

describe('CreateTags / DescribeTags / DeleteTags', () => {
  it('tags several resources at once, describes them by filters, deletes by key and by key+value', async () => {
    const rtb = zone(0).privateRouteTableIds[0]!;
    const nat = zone(0).natInstanceIds[0]!;
    await lab.ec2.send(
      new CreateTagsCommand({
        Resources: [rtb, nat],
        Tags: [
          { Key: 'natkeeper:owner', Value: 'test' },
          { Key: 'Empty', Value: '' },
        ],
      }),
    );
    const byKey = await lab.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['natkeeper:owner'] }] }));
    expect(byKey.Tags!.map((t) => [t.ResourceId, t.ResourceType, t.Key, t.Value]).sort()).toEqual(
      [
        [rtb, 'route-table', 'natkeeper:owner', 'test'],
        [nat, 'instance', 'natkeeper:owner', 'test'],
      ].sort(),
    );
    const ofTable = await lab.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [rtb] }] }));
    expect(ofTable.Tags!.map((t) => t.Key).sort()).toEqual(['Empty', 'Name', 'natkeeper:owner', 'natkeeper:zone']);

    await lab.ec2.send(new DeleteTagsCommand({ Resources: [rtb], Tags: [{ Key: 'natkeeper:owner', Value: 'other' }] }));
    expect(lab.store.routeTable(rtb).tags.map((t) => t.key)).toContain('natkeeper:owner'); // value did not match
    await lab.ec2.send(new DeleteTagsCommand({ Resources: [rtb, nat], Tags: [{ Key: 'natkeeper:owner' }, { Key: 'Empty' }] }));
    const left = await lab.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['natkeeper:owner', 'Empty'] }] }));
    expect(left.Tags).toEqual([]);
  });

  it('DescribeTags filters by resource-type and paginates', async () => {
    const eips = await lab.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-type', Values: ['elastic-ip'] }] }));
    expect(eips.Tags!.length).toBe(lab.store.addresses.values().length);
    const first = await lab.ec2.send(new DescribeTagsCommand({ MaxResults: 5 }));
    expect(first.Tags).toHaveLength(5);
    const second = await lab.ec2.send(new DescribeTagsCommand({ MaxResults: 5, NextToken: first.NextToken }));
    expect(second.Tags).toHaveLength(5);
    expect(second.Tags![0]).not.toEqual(first.Tags![0]);
  });

  it('refuses reserved keys, unknown resources and unknown ID kinds, changing nothing', async () => {
    const rtb = zone(1).privateRouteTableIds[0]!;
    const before = lab.store.routeTable(rtb);
    expect(await errorCode(lab.ec2.send(new CreateTagsCommand({ Resources: [rtb], Tags: [{ Key: 'aws:cloudformation:x', Value: 'v' }] })))).toBe(
      'InvalidParameterValue',
    );
    expect(await errorCode(lab.ec2.send(new CreateTagsCommand({ Resources: [rtb, 'i-0123456789abcdef0'], Tags: [{ Key: 'k', Value: 'v' }] })))).toBe(
      'InvalidInstanceID.NotFound',
    );
    expect(await errorCode(lab.ec2.send(new CreateTagsCommand({ Resources: ['sg-0123456789abcdef0'], Tags: [{ Key: 'k', Value: 'v' }] })))).toBe('InvalidID');
    expect(await errorCode(lab.ec2.send(new CreateTagsCommand({ Resources: [rtb], Tags: [] })))).toBe('MissingParameter');
    expect(lab.store.routeTable(rtb)).toBe(before);
  });
});
