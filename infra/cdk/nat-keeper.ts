// NatKeeper: natkeeper for a VPC that already exists (created in this app with
// natGateways: 0, or imported). Per served zone, a NAT fleet and a floating ENI (see
// NatKeeperCluster), and the zone's private route tables' default route to that ENI.
import { Token } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { NatKeeperCluster, type ClusterZone } from './cluster.js';
import { checkZoneKeys, invalid, resolveOptions, type NatKeeperProps } from './props.js';
import { ForeignRouteTableTags, ownedRouteTable, tagOwnedRouteTable } from './routes.js';

interface ManagedTable {
  readonly id: string;
  /** The table's construct when this app creates it (tagged in the template). */
  readonly owned?: ec2.CfnRouteTable;
}

interface ServedZone extends ClusterZone {
  readonly tables: readonly ManagedTable[];
}

const ROUTE_TABLE_ID = /^rtb-[0-9a-f]{8,17}$/;

/**
 * The NatKeeper serving each VPC (by construct): a second one would add a second default
 * route to the same private tables, which CloudFormation only rejects mid-deploy, and its
 * agents would discover the first cluster's NAT nodes as peers (same VPC, same role tag).
 */
const servedBy = new WeakMap<ec2.IVpc, string>();

export class NatKeeper extends Construct {
  /** Everything natkeeper deployed: zone groups, lease table, alarm topic, control plane. */
  readonly cluster: NatKeeperCluster;
  /** The served zones, in order. */
  readonly zones: readonly string[];

  constructor(scope: Construct, id: string, props: NatKeeperProps) {
    super(scope, id);
    const options = resolveOptions('NatKeeper', props);
    const served = servedZones(props);
    const zones = served.map((z) => z.zone);
    checkZoneKeys('NatKeeper', 'fallbackNatGatewayIds', options.fallbackNatGatewayIds, zones);
    this.zones = zones;

    servedBy.set(props.vpc, this.node.path);
    this.cluster = new NatKeeperCluster(this, 'Cluster', { vpc: props.vpc, zones: served, options });
    const clusterName = this.cluster.clusterName;
    for (const [i, z] of served.entries()) {
      const eni = this.cluster.floatingEniId(z.zone);
      z.tables.forEach((t, j) => {
        new ec2.CfnRoute(this, `DefaultRoute${i + 1}x${j + 1}`, { routeTableId: t.id, destinationCidrBlock: '0.0.0.0/0', networkInterfaceId: eni });
        if (t.owned) tagOwnedRouteTable(t.owned, z.zone, clusterName);
      });
      const foreign = z.tables.filter((t) => !t.owned).map((t) => t.id);
      if (foreign.length) new ForeignRouteTableTags(this, `RouteTableTags${i + 1}`, { zone: z.zone, clusterName, routeTableIds: foreign });
    }
  }

  get securityGroup(): ec2.ISecurityGroup {
    return this.cluster.securityGroup;
  }

  get connections(): ec2.Connections {
    return this.cluster.connections;
  }

  /** The NAT nodes' role. */
  get role(): iam.IRole {
    return this.cluster.role;
  }

  get autoScalingGroups(): autoscaling.AutoScalingGroup[] {
    return this.cluster.autoScalingGroups;
  }
}

/** The zones to serve, each with its public subnet and the route tables to manage; throws naming the prop. */
function servedZones(props: NatKeeperProps): ServedZone[] {
  const vpc = props.vpc;
  if (vpc.node.tryFindChild('NatKeeper') instanceof NatKeeperCluster)
    throw invalid('NatKeeper', 'vpc already egresses through a NatKeeperProvider (natGatewayProvider): use the provider alone, not NatKeeper as well');
  const other = servedBy.get(vpc);
  if (other !== undefined) throw invalid('NatKeeper', `vpc is already served by the NatKeeper at ${other}: use one NatKeeper per VPC, with every zone to serve in its zones`);
  const routeTables = props.routeTables ?? {};
  // Private subnets of this app that already have a default route (NAT gateways, NAT
  // instances): their tables cannot take a second one.
  const natRouted = new Set(vpc.privateSubnets.filter((s) => s.node.tryFindChild('DefaultRoute') !== undefined).map((s) => s.routeTable.routeTableId));

  const vpcZones = vpc.availabilityZones;
  const known = !Token.isUnresolved(vpcZones) && vpcZones.every((z) => !Token.isUnresolved(z));
  const publicIn = (zone: string) => vpc.publicSubnets.find((s) => s.availabilityZone === zone);
  const privateIn = (zone: string) => vpc.privateSubnets.filter((s) => s.availabilityZone === zone);

  let zones: string[];
  if (props.zones !== undefined) {
    zones = props.zones;
    if (zones.length === 0) throw invalid('NatKeeper', 'zones must name at least one availability zone (or leave zones out: every zone with a public and a private subnet)');
    const dup = zones.find((z, i) => zones.indexOf(z) !== i);
    if (dup !== undefined) throw invalid('NatKeeper', `zones lists "${dup}" twice`);
    if (known) {
      const unknown = zones.find((z) => !vpcZones.includes(z));
      if (unknown !== undefined) throw invalid('NatKeeper', `zones has "${unknown}", which is not an availability zone of the vpc (${vpcZones.join(', ')})`);
    }
  } else {
    zones = vpcZones.filter((z) => publicIn(z) && (privateIn(z).length > 0 || routeTables[z]));
    if (zones.length === 0) throw invalid('NatKeeper', 'vpc has no availability zone with both a public and a private-with-egress subnet: pass zones and routeTables');
  }
  checkZoneKeys('NatKeeper', 'routeTables', routeTables, zones);

  const seen = new Map<string, string>();
  return zones.map((zone): ServedZone => {
    const publicSubnet = publicIn(zone);
    if (!publicSubnet) throw invalid('NatKeeper', `zones has "${zone}", where the vpc has no public subnet for the NAT nodes`);
    let tables: ManagedTable[];
    const given = routeTables[zone];
    if (given !== undefined) {
      if (given.length === 0) throw invalid('NatKeeper', `routeTables["${zone}"] must list at least one route table id`);
      tables = given.map((id) => {
        if (!Token.isUnresolved(id) && !ROUTE_TABLE_ID.test(id)) throw invalid('NatKeeper', `routeTables["${zone}"] has "${id}": expected a route table id like rtb-0123456789abcdef0`);
        if (natRouted.has(id)) throw invalid('NatKeeper', `routeTables["${zone}"] has ${id}, the route table of a private subnet that already has a default route (the vpc's NAT gateways): it cannot take a second one`);
        return { id };
      });
    } else {
      const subnets = privateIn(zone);
      if (subnets.length === 0) throw invalid('NatKeeper', `zones has "${zone}", where the vpc has no private-with-egress subnet: add one, or pass routeTables for it`);
      const routed = subnets.find((s) => natRouted.has(s.routeTable.routeTableId));
      if (routed) throw invalid('NatKeeper', `vpc has NAT gateways: the private subnet ${routed.node.path} in ${zone} already has a default route. Create the vpc with natGateways: 0, or pass routeTables naming tables without one`);
      tables = subnets.map((s) => {
        const id = s.routeTable?.routeTableId as string | undefined;
        if (id === undefined) throw invalid('NatKeeper', `the private subnet ${s.subnetId} in ${zone} has no known route table (imported without privateSubnetRouteTableIds): pass routeTables`);
        const owned = ownedRouteTable(s);
        return owned ? { id, owned } : { id };
      });
    }
    // One table, one zone, one default route: a table listed twice would get two.
    const unique = tables.filter((t, i) => tables.findIndex((u) => u.id === t.id) === i);
    for (const t of unique) {
      const other = seen.get(t.id);
      if (other !== undefined) throw invalid('NatKeeper', `routeTables: route table ${t.id} is in both ${other} and ${zone}; a table has one default route, so one zone`);
      seen.set(t.id, zone);
    }
    return { zone, publicSubnet, tables: unique };
  });
}
