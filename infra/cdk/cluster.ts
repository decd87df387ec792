// What NatKeeper and NatKeeperProvider both build: the NAT security group, the agents'
// role, the agent assets, the lease table and alarm topic (unless given), one
// NatZoneGroup per zone, and the control plane. Routing private subnets to the floating
// ENIs is left to the caller: NatKeeper adds routes to route tables it is given,
// NatKeeperProvider to the subnets the VPC hands it.
import { Names, Tags, Validations } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AgentConfigInput } from '../../src/config/agent-config.js';
import { createAlarmTopic } from './alarm-topic.js';
import { natkeeperBundles } from './bundles.js';
import { NatKeeperControlPlane, type ControllerConfig } from './control-plane.js';
import { createNatkeeperRole, type NatkeeperPolicyScope } from './iam.js';
import { createLeaseTable } from './lease-table.js';
import { acknowledgeNatkeeperPolicy } from './nag.js';
import type { ResolvedOptions } from './props.js';
import { NATKEEPER_TAGS } from './tags.js';
import { NatZoneGroup } from './zone-group.js';

export interface ClusterZone {
  readonly zone: string;
  /** The public subnet of the zone: NAT nodes and the floating ENI. */
  readonly publicSubnet: ec2.ISubnet;
}

export interface NatKeeperClusterProps {
  readonly vpc: ec2.IVpc;
  readonly zones: readonly ClusterZone[];
  readonly options: ResolvedOptions;
}

export class NatKeeperCluster extends Construct {
  readonly clusterName: string;
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  /** The NAT nodes' role. */
  readonly role: iam.Role;
  readonly table: dynamodb.ITable;
  readonly alarmTopic: sns.ITopic;
  readonly zoneGroups: readonly NatZoneGroup[];
  readonly controlPlane: NatKeeperControlPlane;

  constructor(scope: Construct, id: string, props: NatKeeperClusterProps) {
    super(scope, id);
    const o = props.options;
    const bundles = natkeeperBundles();
    // Letters and digits only, unique in the app: valid as a tag value and a lease name.
    this.clusterName = o.clusterName ?? Names.uniqueResourceName(this, { maxLength: 128 });
    const zones = props.zones.map((z) => z.zone);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `natkeeper NAT nodes and floating ENIs of cluster ${this.clusterName}`,
      allowAllOutbound: true,
    });
    // Forwarded traffic from the private subnets and the agents' heartbeats and peer
    // probes: all of it from inside the VPC, nothing from the internet.
    this.securityGroup.addIngressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.allTraffic(), 'traffic to NAT and natkeeper peers, from the VPC only');
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The only ingress rule is from the VPC CIDR (a CloudFormation reference cdk-nag cannot evaluate), never 0.0.0.0/0: NAT nodes forward the private subnets\' traffic and exchange heartbeats.',
    });
    this.connections = this.securityGroup.connections;

    this.table = o.leaseTable ?? createLeaseTable(this, 'LeaseTable');
    this.alarmTopic = o.alarmTopic ?? createAlarmTopic(this, 'Alarms');

    // What both roles may touch, and the lease and controller settings both the agents and
    // the Lambda run with: built once here, shared with the control plane.
    const policyScope: NatkeeperPolicyScope = {
      clusterName: this.clusterName,
      vpcId: props.vpc.vpcId,
      leaseTable: this.table.tableName,
      fallbackNatGatewayIds: Object.values(o.fallbackNatGatewayIds),
    };
    const controllerConfig: ControllerConfig = {
      lease: { store: 'dynamodb', table: this.table.tableName, name: this.clusterName },
      controller: {
        zones,
        failbackAfterMs: o.failbackAfterMs,
        // Only when there are some: no empty record in the agents' or the Lambda's config.
        ...(Object.keys(o.fallbackNatGatewayIds).length ? { fallbackNatGatewayIds: { ...o.fallbackNatGatewayIds } } : {}),
      },
    };

    this.role = createNatkeeperRole(this, 'AgentRole', 'agent', policyScope);
    const assets = {
      bundle: new s3assets.Asset(this, 'AgentBundle', { path: bundles.agentFile }),
      unit: new s3assets.Asset(this, 'AgentUnit', { path: bundles.agentUnitFile }),
    };
    // The two objects only (grantRead would allow s3:GetObject*/List* on the bucket).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [assets.bundle, assets.unit].map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
      }),
    );
    acknowledgeNatkeeperPolicy(this.role, 'agent', this.clusterName);

    // One profile for every zone's launch template.
    const instanceProfile = new iam.InstanceProfile(this, 'AgentInstanceProfile', { role: this.role });

    const agentConfig: AgentConfigInput = { ...controllerConfig, ...(o.probeTargets ? { probe: { targets: o.probeTargets } } : {}) };
    this.zoneGroups = props.zones.map(
      (z) =>
        new NatZoneGroup(this, `Zone${zoneSuffix(z.zone, props.zones.indexOf(z))}`, {
          vpc: props.vpc,
          zone: z.zone,
          subnet: z.publicSubnet,
          securityGroup: this.securityGroup,
          instanceProfile,
          instanceType: o.instanceType,
          nodesPerZone: o.nodesPerZone,
          spot: o.spot,
          assets,
          agentConfig,
          notificationTopic: this.alarmTopic,
        }),
    );

    this.controlPlane = new NatKeeperControlPlane(this, 'ControlPlane', {
      policyScope,
      controllerConfig,
      groups: this.autoScalingGroups,
      alarmTopic: this.alarmTopic,
      lambdaDir: bundles.lambdaDir,
    });
    Tags.of(this).add(NATKEEPER_TAGS.cluster, this.clusterName);
  }

  get autoScalingGroups(): autoscaling.AutoScalingGroup[] {
    return this.zoneGroups.map((g) => g.autoScalingGroup);
  }

  /** The zone's floating ENI: the target of its private route tables' default route. */
  floatingEniId(zone: string): string {
    const group = this.zoneGroups.find((g) => g.zone === zone);
    if (!group) throw new Error(`natkeeper: no NAT group in zone ${zone}`);
    return group.floatingEni.attrId;
  }
}

/** A stable construct id per zone: the AZ's letter suffix ("eu-west-1a" → "A"), else its position. */
function zoneSuffix(zone: string, index: number): string {
  const m = /^[a-z]{2}(?:-[a-z]+)+-\d([a-z])$/.exec(zone);
  return m ? m[1]!.toUpperCase() : String(index + 1);
}
