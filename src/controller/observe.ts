// Observe: the VPC as the planner needs it, from three filtered, paginated Describe calls
// per cycle (one per resource kind), whatever the number of zones or tables:
//   DescribeInstances          NATs: tag natkeeper:role=nat (and not terminated)
//   DescribeNetworkInterfaces  floating ENIs: tag key natkeeper:floating (value = zone)
//   DescribeRouteTables        managed private tables: tag key natkeeper:zone (value = zone)
// Tags are what the CDK construct and the lab put on these resources.
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type NetworkInterface,
  type RouteTable,
  type Tag,
} from '@aws-sdk/client-ec2';
import { EC2_STATES, type Ec2State } from '../domain/signals.js';
import { TAGS } from '../domain/tags.js';
import type { ObservedNode, ObservedRouteTable, ObservedVpc, ObservedZone, RouteTarget } from '../domain/planner/index.js';

// Re-exported: src/lambda and the CDK tests import the tag names from here.
export { TAGS } from '../domain/tags.js';

export interface ObserveConfig {
  vpcId: string;
  /** Zone names (the natkeeper:zone tag values); default: every value found on the tagged tables, NATs and floating ENIs. */
  zones?: readonly string[];
  /** Per zone: a managed NAT Gateway of last resort. */
  fallbackNatGatewayIds?: Readonly<Record<string, string>>;
  /** Device index of the floating ENI on a NAT. Default 1. */
  floatingDeviceIndex?: number;
}

type Ec2 = Pick<EC2Client, 'send'>;
const tagOf = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

async function all<T, P extends { NextToken?: string | undefined }>(page: (token?: string) => Promise<P>, items: (p: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const p = await page(token);
    out.push(...(items(p) ?? []));
    token = p.NextToken;
  } while (token);
  return out;
}

export async function observeVpc(ec2: Ec2, c: ObserveConfig): Promise<ObservedVpc> {
  const vpc: Filter = { Name: 'vpc-id', Values: [c.vpcId] };
  const paged = (t?: string) => ({ MaxResults: 100, ...(t ? { NextToken: t } : {}) });
  const [instances, enis, tables] = await Promise.all([
    all(
      (t) => ec2.send(new DescribeInstancesCommand({ Filters: [vpc, { Name: `tag:${TAGS.role}`, Values: ['nat'] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }], ...paged(t) })),
      (p) => (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
    ),
    all((t) => ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [vpc, { Name: 'tag-key', Values: [TAGS.floating] }], ...paged(t) })), (p) => p.NetworkInterfaces),
    all((t) => ec2.send(new DescribeRouteTablesCommand({ Filters: [vpc, { Name: 'tag-key', Values: [TAGS.zone] }], ...paged(t) })), (p) => p.RouteTables),
  ]);
  const zones =
    c.zones ??
    [...new Set([...tables.map((t) => tagOf(t.Tags, TAGS.zone)), ...instances.map((i) => tagOf(i.Tags, TAGS.zone)), ...enis.map((e) => tagOf(e.TagSet, TAGS.floating))])]
      .filter((z): z is string => z !== undefined)
      .sort();
  return {
    zones: zones.map((name) => zoneOf(name, enis, c)),
    nodes: instances.flatMap((i) => nodeOf(i, zones)),
    routeTables: tables.flatMap((t) => tableOf(t, zones)),
  };
}

function zoneOf(name: string, enis: NetworkInterface[], c: ObserveConfig): ObservedZone {
  const eni = enis.find((e) => tagOf(e.TagSet, TAGS.floating) === name);
  const att = eni?.Attachment;
  const attached = att && (att.Status === 'attached' || att.Status === 'attaching');
  const gw = c.fallbackNatGatewayIds?.[name];
  return {
    name,
    ...(eni?.NetworkInterfaceId
      ? {
          floatingEni: {
            eniId: eni.NetworkInterfaceId,
            deviceIndex: c.floatingDeviceIndex ?? 1,
            ...(attached && att.InstanceId ? { attachedTo: att.InstanceId } : {}),
            ...(attached && att.AttachmentId ? { attachmentId: att.AttachmentId } : {}),
          },
        }
      : {}),
    ...(gw ? { fallbackNatGatewayId: gw } : {}),
  };
}

function nodeOf(i: Instance, zones: readonly string[]): ObservedNode[] {
  const zone = tagOf(i.Tags, TAGS.zone);
  const state = i.State?.Name;
  const primary = i.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0)?.NetworkInterfaceId;
  if (!i.InstanceId || !zone || !zones.includes(zone) || !primary || !(EC2_STATES as readonly string[]).includes(state ?? '')) return [];
  return [{ id: i.InstanceId, zone, state: state as Ec2State, primaryEniId: primary }];
}

function tableOf(t: RouteTable, zones: readonly string[]): ObservedRouteTable[] {
  const zone = tagOf(t.Tags, TAGS.zone);
  if (!t.RouteTableId || !zone || !zones.includes(zone)) return [];
  const r = t.Routes?.find((x) => x.DestinationCidrBlock === '0.0.0.0/0');
  const target: RouteTarget = r?.NetworkInterfaceId
    ? { kind: 'eni', id: r.NetworkInterfaceId }
    : r?.NatGatewayId
      ? { kind: 'nat-gateway', id: r.NatGatewayId }
      : r?.InstanceId
        ? { kind: 'instance', id: r.InstanceId }
        : r
          ? { kind: 'other', id: r.GatewayId ?? r.TransitGatewayId ?? r.VpcPeeringConnectionId ?? 'unknown' }
          : { kind: 'none' };
  return [
    {
      id: t.RouteTableId,
      zone,
      target,
      blackhole: r?.State === 'blackhole',
      subnetAssociations: (t.Associations ?? []).flatMap((a) => (a.SubnetId && a.RouteTableAssociationId ? [{ associationId: a.RouteTableAssociationId, subnetId: a.SubnetId }] : [])),
    },
  ];
}
