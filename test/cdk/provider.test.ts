// NatKeeperProvider inside ec2.Vpc: NAT groups instead of NAT gateways, private subnets
// routed to the floating ENIs, the provider's accessors. One stack, three VPCs: one NAT group
// per zone with maxAzs 3 and with maxAzs 2, and one NAT group for three zones (natGateways: 1).
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatKeeperProvider } from '../../infra/cdk/index.js';
import { nagFindings, removeTestOutdirs, SYNTH_TIMEOUT_MS, TEST_ZONES, testStack } from './stacks.js';
import { logicalIds, resourceLike } from './template-values.js';

afterAll(removeTestOutdirs);

describe('NatKeeperProvider', () => {
  let stack: Stack;
  let template: Template;
  let perZone: NatKeeperProvider;
  let single: NatKeeperProvider;
  let twoZones: NatKeeperProvider;
  let vpc: ec2.Vpc;
  let small: ec2.Vpc;
  let two: ec2.Vpc;

  beforeAll(() => {
    stack = testStack('Provider');
    perZone = new NatKeeperProvider({ clusterName: 'main-vpc' });
    vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGatewayProvider: perZone });
    vpc.addFlowLog('FlowLog');
    single = new NatKeeperProvider({ nodesPerZone: 1, clusterName: 'small-vpc' });
    small = new ec2.Vpc(stack, 'Small', { maxAzs: 3, natGateways: 1, natGatewayProvider: single, ipAddresses: ec2.IpAddresses.cidr('10.1.0.0/16') });
    small.addFlowLog('FlowLog');
    twoZones = new NatKeeperProvider({ clusterName: 'two-zones' });
    two = new ec2.Vpc(stack, 'Two', { maxAzs: 2, natGatewayProvider: twoZones, ipAddresses: ec2.IpAddresses.cidr('10.2.0.0/16') });
    two.addFlowLog('FlowLog');
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT_MS);

  it('builds NAT groups instead of NAT gateways', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 6);
    template.resourceCountIs('AWS::EC2::NetworkInterface', 6);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(perZone.autoScalingGroups).toHaveLength(3);
    expect(single.autoScalingGroups).toHaveLength(1);
    expect(twoZones.autoScalingGroups).toHaveLength(2);
    template.resourcePropertiesCountIs('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '1' }, 1);
  });

  it('reports one gateway per zone: the floating ENI', () => {
    const gateways = perZone.configuredGateways.map((g) => ({ az: g.az, gatewayId: stack.resolve(g.gatewayId) }));
    expect(gateways).toEqual(
      TEST_ZONES.map((az) => ({ az, gatewayId: { 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^VpcNatKeeperZone${az.slice(-1).toUpperCase()}FloatingEni`)), 'Id'] } })),
    );
  });

  it.each([
    ['Vpc', 3, 'main-vpc'],
    ['Two', 2, 'two-zones'],
  ] as const)('routes every private subnet of %s (maxAzs %i) to its zone\'s floating ENI and tags its route table', (id, zones, cluster) => {
    const subnets = (id === 'Vpc' ? vpc : two).privateSubnets;
    expect(subnets.map((s) => s.availabilityZone)).toEqual(TEST_ZONES.slice(0, zones));
    subnets.forEach((subnet, i) => {
      const zone = TEST_ZONES[i]!;
      const eni = resourceLike(template, 'AWS::EC2::NetworkInterface', `${id}NatKeeperZone${zone.slice(-1).toUpperCase()}FloatingEni`);
      const table = subnet.node.findChild('RouteTable') as ec2.CfnRouteTable;
      expect(logicalIds(template, 'AWS::EC2::Route', { RouteTableId: stack.resolve(table.ref), NetworkInterfaceId: { 'Fn::GetAtt': [eni.id, 'Id'] }, DestinationCidrBlock: '0.0.0.0/0' })).toHaveLength(1);
      expect(template.toJSON().Resources[stack.getLogicalId(table)].Properties.Tags).toEqual(
        expect.arrayContaining([{ Key: 'natkeeper:zone', Value: zone }, { Key: 'natkeeper:cluster', Value: cluster }]),
      );
    });
  });

  it('routes the zones without a NAT group through the first zone\'s ENI, tagged with that zone', () => {
    const eni = resourceLike(template, 'AWS::EC2::NetworkInterface', 'SmallNatKeeperZoneAFloatingEni');
    for (const subnet of small.privateSubnets) {
      const table = subnet.node.findChild('RouteTable') as ec2.CfnRouteTable;
      expect(logicalIds(template, 'AWS::EC2::Route', { RouteTableId: stack.resolve(table.ref), NetworkInterfaceId: { 'Fn::GetAtt': [eni.id, 'Id'] } })).toHaveLength(1);
      expect(template.toJSON().Resources[stack.getLogicalId(table)].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'natkeeper:zone', Value: 'eu-west-1a' }]));
    }
  });

  it('exposes connections, securityGroup, role and the cluster like the CDK\'s own providers', () => {
    expect(perZone.connections.securityGroups).toEqual([perZone.securityGroup]);
    expect(stack.resolve(perZone.role.roleArn)).toEqual({ 'Fn::GetAtt': [expect.stringContaining('VpcNatKeeperAgentRole'), 'Arn'] });
    expect(perZone.cluster.clusterName).toBe('main-vpc');
    expect(perZone.cluster.zoneGroups.map((g) => g.zone)).toEqual([...TEST_ZONES]);
    // The groups in the template, zone by zone.
    expect(perZone.autoScalingGroups.map((g) => stack.resolve(g.autoScalingGroupName))).toEqual(
      TEST_ZONES.map((az) => ({ Ref: resourceLike(template, 'AWS::AutoScaling::AutoScalingGroup', `VpcNatKeeperZone${az.slice(-1).toUpperCase()}Group`).id })),
    );
  });

  it('refuses its accessors before a VPC configured it, and a second VPC', () => {
    const unused = new NatKeeperProvider();
    for (const read of [() => unused.securityGroup, () => unused.connections, () => unused.role, () => unused.autoScalingGroups, () => unused.cluster])
      expect(read).toThrow(/NatKeeperProvider: pass the provider to a Vpc \(natGatewayProvider\) before reading/);
    expect(unused.configuredGateways).toEqual([]);
    const other = testStack('Other');
    const twice = new NatKeeperProvider();
    new ec2.Vpc(other, 'First', { maxAzs: 1, natGatewayProvider: twice });
    expect(() => new ec2.Vpc(other, 'Second', { maxAzs: 1, natGatewayProvider: twice })).toThrow('NatKeeperProvider: one provider serves one VPC');
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
