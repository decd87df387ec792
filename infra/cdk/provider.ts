// NatKeeperProvider: natkeeper as the CDK's own NAT provider, so
//   new ec2.Vpc(this, 'Vpc', { natGatewayProvider: new NatKeeperProvider({ ... }) })
// gives private subnets that egress through natkeeper NAT groups. The VPC chooses the
// zones (one NAT group per NAT subnet: natGateways, natGatewaySubnets) and calls
// configureNat while it is being constructed; everything is built under the VPC, with the
// same NatKeeperCluster as NatKeeper.
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { NatKeeperCluster, type ClusterZone } from './cluster.js';
import { checkZoneKeys, invalid, resolveOptions, type NatKeeperProviderProps, type ResolvedOptions } from './props.js';
import { ownedRouteTable, tagOwnedRouteTable } from './routes.js';

export class NatKeeperProvider extends ec2.NatProvider {
  private readonly options: ResolvedOptions;
  private built: NatKeeperCluster | undefined;

  constructor(props: NatKeeperProviderProps = {}) {
    super();
    this.options = resolveOptions('NatKeeperProvider', props);
  }

  /** Called by the VPC: one NAT group and floating ENI per NAT subnet's zone. */
  configureNat(options: ec2.ConfigureNatOptions): void {
    if (this.built) throw invalid('NatKeeperProvider', 'one provider serves one VPC: create a NatKeeperProvider per VPC');
    const zones: ClusterZone[] = [];
    for (const subnet of options.natSubnets)
      if (!zones.some((z) => z.zone === subnet.availabilityZone)) zones.push({ zone: subnet.availabilityZone, publicSubnet: subnet });
    if (zones.length === 0) throw invalid('NatKeeperProvider', 'the vpc gave no public subnet for NAT nodes (natGatewaySubnets)');
    checkZoneKeys(
      'NatKeeperProvider',
      'fallbackNatGatewayIds',
      this.options.fallbackNatGatewayIds,
      zones.map((z) => z.zone),
    );
    this.built = new NatKeeperCluster(options.vpc, 'NatKeeper', { vpc: options.vpc, zones, options: this.options });
    for (const subnet of options.privateSubnets) this.configureSubnet(subnet);
  }

  /**
   * Called by the VPC for each private subnet: its default route goes to the floating ENI
   * of its zone, or, when its zone has no NAT group (natGateways below the zone count), of
   * the first zone, like the CDK's own providers; its route table is tagged with the zone
   * whose ENI it uses, so the controller moves it with that zone's egress.
   */
  configureSubnet(subnet: ec2.PrivateSubnet): void {
    const cluster = this.cluster;
    const zones = cluster.zoneGroups.map((g) => g.zone);
    const zone = zones.includes(subnet.availabilityZone) ? subnet.availabilityZone : zones[0]!;
    subnet.addRoute('DefaultRoute', {
      routerType: ec2.RouterType.NETWORK_INTERFACE,
      routerId: cluster.floatingEniId(zone),
      enablesInternetConnectivity: true,
    });
    const table = ownedRouteTable(subnet);
    if (table) tagOwnedRouteTable(table, zone, cluster.clusterName);
  }

  /** Per zone, the floating ENI the private subnets route to. */
  get configuredGateways(): ec2.GatewayConfig[] {
    return (this.built?.zoneGroups ?? []).map((g) => ({ az: g.zone, gatewayId: g.floatingEni.attrId }));
  }

  /** Everything natkeeper deployed for the VPC (zone groups, lease table, topic, control plane). */
  get cluster(): NatKeeperCluster {
    if (!this.built) throw invalid('NatKeeperProvider', "pass the provider to a Vpc (natGatewayProvider) before reading 'cluster', 'securityGroup', 'connections', 'role' or 'autoScalingGroups'");
    return this.built;
  }

  /** The security group of the NAT nodes and floating ENIs. */
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
