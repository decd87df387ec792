// One zone's NAT fleet: the floating ENI private route tables point at (it carries the
// zone's EIP, so egress keeps its public address across failovers), and an Auto Scaling
// group of NAT nodes in the zone's public subnet. The controller attaches the floating ENI
// to a healthy node; until then (first deploy) the routes to it are blackholes and the
// planner treats the zone as failed, which makes it attach the ENI at once
// (src/domain/planner/plan.ts, "eni-move").
import { Duration, Lazy, TagManager, Tags } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AgentConfigInput } from '../../src/config/agent-config.js';
import { NATKEEPER_TAGS } from './tags.js';
import { agentUserData, type AgentAssets } from './user-data.js';

export interface NatZoneGroupProps {
  readonly vpc: ec2.IVpc;
  readonly zone: string;
  /** The public subnet the NAT nodes and the floating ENI live in. */
  readonly subnet: ec2.ISubnet;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly instanceProfile: iam.IInstanceProfile;
  readonly instanceType: ec2.InstanceType;
  readonly nodesPerZone: number;
  readonly spot: boolean;
  readonly assets: AgentAssets;
  /** The cluster-wide agent config; this zone adds its floating ENI. */
  readonly agentConfig: AgentConfigInput;
  readonly notificationTopic: sns.ITopic;
}

export class NatZoneGroup extends Construct {
  readonly zone: string;
  readonly floatingEni: ec2.CfnNetworkInterface;
  readonly eip: ec2.CfnEIP;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: NatZoneGroupProps) {
    super(scope, id);
    this.zone = props.zone;

    this.floatingEni = new ec2.CfnNetworkInterface(this, 'FloatingEni', {
      subnetId: props.subnet.subnetId,
      groupSet: [props.securityGroup.securityGroupId],
      // Forwarded packets carry other hosts' addresses: a NAT ENI must not check them.
      sourceDestCheck: false,
      description: `natkeeper floating NAT ENI, ${props.zone}`,
    });
    Tags.of(this.floatingEni).add(NATKEEPER_TAGS.floating, props.zone);

    this.eip = new ec2.CfnEIP(this, 'Eip', { domain: 'vpc' });
    const association = new ec2.CfnEIPAssociation(this, 'EipAssociation', {
      allocationId: this.eip.attrAllocationId,
      networkInterfaceId: this.floatingEni.attrId,
    });
    // An EIP can only be associated once the VPC has its internet gateway attached (the
    // public subnet's default route waits for the attachment).
    association.node.addDependency(props.vpc.internetConnectivityEstablished, props.subnet.internetConnectivityEstablished);

    const agentConfig: AgentConfigInput = {
      ...props.agentConfig,
      // The controller moves the ENI between nodes; a node never takes it at boot.
      ec2: { floatingEni: { id: this.floatingEni.attrId, carry: false } },
    };
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: props.instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      userData: agentUserData(this, props.assets, agentConfig),
      instanceProfile: props.instanceProfile,
      securityGroup: props.securityGroup,
      // The standby reaches the AWS APIs (lease, EC2, Auto Scaling) through its own public
      // address: it has no floating ENI and no other way out.
      associatePublicIpAddress: true,
      // The agent calls IMDS from the host itself: one hop is enough, and containers on
      // the node (if any) get no credentials.
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      httpEndpoint: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
        },
      ],
      ...(props.spot ? { spotOptions: { interruptionBehavior: ec2.SpotInstanceInterruption.TERMINATE } } : {}),
    });
    Tags.of(this.launchTemplate).add(NATKEEPER_TAGS.role, 'nat');
    Tags.of(this.launchTemplate).add(NATKEEPER_TAGS.zone, props.zone);
    // The L2 tags instances and volumes at launch; the IAM policy also needs the cluster tag
    // on the node's primary ENI (ModifyNetworkInterfaceAttribute, route targets).
    const template = this.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate;
    const launchTags = () => (TagManager.of(this.launchTemplate)?.renderTags() ?? []) as { Key: string; Value: string }[];
    template.addPropertyOverride(
      'LaunchTemplateData.TagSpecifications',
      Lazy.any({ produce: () => ['instance', 'volume', 'network-interface'].map((ResourceType) => ({ ResourceType, Tags: launchTags() })) }),
    );

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnets: [props.subnet] },
      launchTemplate: this.launchTemplate,
      minCapacity: props.nodesPerZone,
      maxCapacity: props.nodesPerZone,
      // A new launch template version replaces nodes one at a time; each leaves through
      // the terminate hook, so the agent hands its egress over first.
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: props.nodesPerZone - 1 }),
      notifications: [{ topic: props.notificationTopic }],
    });
    Tags.of(this.autoScalingGroup).add(NATKEEPER_TAGS.role, 'nat', { applyToLaunchedInstances: true });
    Tags.of(this.autoScalingGroup).add(NATKEEPER_TAGS.zone, props.zone, { applyToLaunchedInstances: true });

    // The agent completes these (src/aws/lifecycle.ts): launch once its setup self-test
    // passes (a node that never gets there is abandoned and replaced), terminate once it
    // handed egress over (bounded by 60 s in the agent; the hook times out after 2 min).
    // On the group itself rather than as separate LifecycleHook resources (addLifecycleHook),
    // which CloudFormation creates after the group: the first nodes would launch ungated.
    const group = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    group.lifecycleHookSpecificationList = [
      {
        lifecycleHookName: 'natkeeper-launch',
        lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
        defaultResult: autoscaling.DefaultResult.ABANDON,
        heartbeatTimeout: Duration.minutes(5).toSeconds(),
      },
      {
        lifecycleHookName: 'natkeeper-terminate',
        lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
        defaultResult: autoscaling.DefaultResult.CONTINUE,
        heartbeatTimeout: Duration.minutes(2).toSeconds(),
      },
    ];
  }
}
