// NatKeeper on a VPC the app creates (natGateways: 0) with every default, and on an
// imported VPC with every prop set: the resources, how they are wired, and cdk-nag's
// AwsSolutions pack with no unacknowledged finding. One synthesis per stack (beforeAll).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EC2_STATES_WATCHED, NatKeeper, natkeeperBundles, NATKEEPER_TAGS } from '../../infra/cdk/index.js';
import { createLeaseTable } from '../../infra/cdk/lease-table.js';
import { DETAIL_TYPES, instanceStateChangeEvent, lifecycleActionEvent, rebalanceRecommendationEvent, spotInterruptionEvent } from '../../lab/emulator/events/shapes.js';
import { parseAgentConfig, type AgentConfig } from '../../src/config/agent-config.js';
import { TAGS } from '../../src/controller/observe.js';
import { natkeeperPolicy } from '../../src/iam/policy.js';
import { loadLambdaEnv } from '../../src/lambda/config.js';
import { importedVpc, nagFindings, removeTestOutdirs, SYNTH_TIMEOUT_MS, TEST_ENV, TEST_ZONES, testStack, vpcWithoutNat } from './stacks.js';
import { logicalIds, placeholderResolver, renderJoin, resourceLike, type Cfn } from './template-values.js';

afterAll(removeTestOutdirs);

const STAND_INS = {
  LeaseTable: 'natkeeper-test-table',
  SharedLeases: 'natkeeper-test-table',
  FloatingEni: 'eni-0123456789abcdef0',
  Vpc: 'vpc-0123456789abcdef0',
};
const resolve = placeholderResolver(STAND_INS);

/**
 * The agent config a launch template's user data writes, references replaced by stand-ins,
 * read the way the agent reads /etc/natkeeper/natkeeper.yaml (YAML loader + schema); and
 * the whole script checked by bash's parser, as cloud-init will run it.
 */
function userDataConfig(launchTemplate: Record<string, Cfn>): { script: string; config: AgentConfig } {
  const script = renderJoin(launchTemplate.LaunchTemplateData.UserData['Fn::Base64'], resolve);
  const syntax = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  if (syntax.status !== 0) throw new Error(`user data is not valid bash: ${syntax.stderr}\n${script}`);
  const m = /cat > \/etc\/natkeeper\/natkeeper\.yaml <<'NATKEEPER_CONFIG_EOF'\n(.*)\nNATKEEPER_CONFIG_EOF\n/s.exec(script);
  if (!m) throw new Error(`no config heredoc in user data:\n${script}`);
  return { script, config: parseAgentConfig(m[1]!, 'user data natkeeper.yaml') };
}

describe('NatKeeper on a VPC of the app, defaults', () => {
  let stack: Stack;
  let vpc: ec2.Vpc;
  let nat: NatKeeper;
  let template: Template;
  let clusterName: string;

  beforeAll(() => {
    stack = testStack();
    vpc = vpcWithoutNat(stack);
    nat = new NatKeeper(stack, 'Nat', { vpc });
    template = Template.fromStack(stack);
    clusterName = nat.cluster.clusterName;
  }, SYNTH_TIMEOUT_MS);

  it('uses the tags the controller observes', () => {
    expect({ role: NATKEEPER_TAGS.role, zone: NATKEEPER_TAGS.zone, floating: NATKEEPER_TAGS.floating }).toEqual(TAGS);
    expect(clusterName).toMatch(/^[A-Za-z0-9]{1,128}$/);
    expect(nat.zones).toEqual([...TEST_ZONES]);
  });

  it('builds one NAT group, floating ENI and EIP per zone', () => {
    for (const type of ['AWS::AutoScaling::AutoScalingGroup', 'AWS::EC2::LaunchTemplate', 'AWS::EC2::NetworkInterface', 'AWS::EC2::EIP', 'AWS::EC2::EIPAssociation'])
      template.resourceCountIs(type, 3);
    expect(nat.autoScalingGroups).toHaveLength(3);
  });

  it('puts each zone group and floating ENI in that zone\'s public subnet, tagged', () => {
    TEST_ZONES.forEach((zone, i) => {
      const letter = zone.slice(-1).toUpperCase();
      const publicSubnet = stack.resolve((vpc.publicSubnets[i]!.node.defaultChild as ec2.CfnSubnet).ref);
      const group = resourceLike(template, 'AWS::AutoScaling::AutoScalingGroup', `Zone${letter}Group`);
      expect(group.props.MinSize).toBe('2');
      expect(group.props.MaxSize).toBe('2');
      expect(group.props.DesiredCapacity).toBeUndefined();
      expect(group.props.VPCZoneIdentifier).toEqual([publicSubnet]);
      expect(group.props.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'natkeeper:role', Value: 'nat', PropagateAtLaunch: true },
          { Key: 'natkeeper:zone', Value: zone, PropagateAtLaunch: true },
          { Key: 'natkeeper:cluster', Value: clusterName, PropagateAtLaunch: true },
        ]),
      );
      const eni = resourceLike(template, 'AWS::EC2::NetworkInterface', `Zone${letter}FloatingEni`);
      expect(eni.props.SubnetId).toEqual(publicSubnet);
      expect(eni.props.SourceDestCheck).toBe(false);
      expect(eni.props.Tags).toEqual(expect.arrayContaining([{ Key: 'natkeeper:floating', Value: zone }, { Key: 'natkeeper:cluster', Value: clusterName }]));
      const assoc = resourceLike(template, 'AWS::EC2::EIPAssociation', `Zone${letter}EipAssociation`);
      const eip = resourceLike(template, 'AWS::EC2::EIP', `Zone${letter}Eip`);
      expect(assoc.props).toEqual({ AllocationId: { 'Fn::GetAtt': [eip.id, 'AllocationId'] }, NetworkInterfaceId: { 'Fn::GetAtt': [eni.id, 'Id'] } });
      // Associated only once the internet gateway is attached.
      expect(assoc.raw.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/IGW/), expect.stringMatching(/publicSubnet\dDefaultRoute/)]));
    });
  });

  it('routes each private route table to its zone\'s floating ENI and tags it', () => {
    TEST_ZONES.forEach((zone, i) => {
      const letter = zone.slice(-1).toUpperCase();
      const table = vpc.privateSubnets[i]!.node.findChild('RouteTable') as ec2.CfnRouteTable;
      const eni = resourceLike(template, 'AWS::EC2::NetworkInterface', `Zone${letter}FloatingEni`);
      const routes = logicalIds(template, 'AWS::EC2::Route', {
        RouteTableId: stack.resolve(table.ref),
        DestinationCidrBlock: '0.0.0.0/0',
        NetworkInterfaceId: { 'Fn::GetAtt': [eni.id, 'Id'] },
      });
      expect(routes).toHaveLength(1);
      const tableProps = template.toJSON().Resources[stack.getLogicalId(table)].Properties;
      expect(tableProps.Tags).toEqual(expect.arrayContaining([{ Key: 'natkeeper:zone', Value: zone }, { Key: 'natkeeper:cluster', Value: clusterName }]));
    });
    // No route to anything else and no API-side tagging for tables the stack owns.
    template.resourceCountIs('Custom::AWS', 0);
  });

  it('launches AL2023 arm64 with IMDSv2 required, a public IP, and the NAT security group', () => {
    expect(Object.values(template.toJSON().Parameters).map((p: Cfn) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64');
    const sg = resourceLike(template, 'AWS::EC2::SecurityGroup', 'ClusterSecurityGroup');
    for (const [, lt] of Object.entries(template.findResources('AWS::EC2::LaunchTemplate'))) {
      const data = lt.Properties.LaunchTemplateData;
      expect(data.InstanceType).toBe('t4g.nano');
      expect(data.MetadataOptions).toEqual({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      expect(data.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: [{ 'Fn::GetAtt': [sg.id, 'GroupId'] }] }]);
      expect(data.InstanceMarketOptions).toBeUndefined();
      expect(data.BlockDeviceMappings[0].Ebs.Encrypted).toBe(true);
      // The primary ENI carries the cluster tag the IAM policy requires.
      const eniTags = data.TagSpecifications.find((t: Cfn) => t.ResourceType === 'network-interface');
      expect(eniTags.Tags).toEqual(expect.arrayContaining([{ Key: 'natkeeper:cluster', Value: clusterName }]));
    }
    // Ingress from the VPC only.
    expect(sg.props.SecurityGroupIngress).toEqual([expect.objectContaining({ IpProtocol: '-1', CidrIp: { 'Fn::GetAtt': [stack.getLogicalId(vpc.node.defaultChild as ec2.CfnVPC), 'CidrBlock'] } })]);
  });

  it('boots the agent from its unit with a config the agent schema accepts', () => {
    const lt = resourceLike(template, 'AWS::EC2::LaunchTemplate', 'ZoneBLaunchTemplate');
    const { script, config } = userDataConfig(lt.props);
    // The assets of this stack, fetched from its region's asset bucket.
    const s3 = (asset: string) => {
      const a = nat.cluster.node.findChild(asset) as s3assets.Asset;
      return `s3://${stack.resolve(a.s3BucketName)}/${stack.resolve(a.s3ObjectKey)}`;
    };
    // In this order: fail fast, packages, assets, the CLI, the config, its check, the unit.
    const steps = [
      '#!/bin/bash\nset -euo pipefail\n',
      'dnf install -y nodejs22 nftables conntrack-tools && break',
      `aws s3 cp '${s3('AgentBundle')}' '/opt/natkeeper/natkeeper.mjs' --region ${TEST_ENV.region}\n`,
      `aws s3 cp '${s3('AgentUnit')}' '/opt/natkeeper/natkeeper-agent.service' --region ${TEST_ENV.region}\n`,
      'exec /usr/bin/node-22 /opt/natkeeper/natkeeper.mjs "$@"',
      "cat > /etc/natkeeper/natkeeper.yaml <<'NATKEEPER_CONFIG_EOF'",
      '\n/usr/bin/natkeeper config check /etc/natkeeper/natkeeper.yaml\n',
      '\ninstall -m 0644 /opt/natkeeper/natkeeper-agent.service /etc/systemd/system/natkeeper-agent.service\n',
      '\nsystemctl daemon-reload\nsystemctl enable --now natkeeper-agent.service',
    ];
    expect(steps.filter((step) => !script.includes(step)), script).toEqual([]);
    const at = steps.map((step) => script.indexOf(step));
    expect(at).toEqual([...at].sort((x, y) => x - y));
    expect(script.startsWith(steps[0]!)).toBe(true);
    // The CLI and config paths are the ones the unit starts the agent with.
    expect(readFileSync(natkeeperBundles().agentUnitFile, 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/natkeeper agent --config \/etc\/natkeeper\/natkeeper\.yaml$/m);
    expect(config.lease).toMatchObject({ store: 'dynamodb', table: STAND_INS.LeaseTable, name: clusterName });
    expect(config.controller).toMatchObject({ zones: [...TEST_ZONES], failbackAfterMs: 60_000 });
    expect(config.ec2.floatingEni).toEqual({ id: STAND_INS.FloatingEni, carry: false, deviceIndex: 1 });
    expect(config.probe.targets.map((t) => t.host)).toEqual(['1.1.1.1', 'checkip.amazonaws.com', '8.8.8.8']);
    // This zone's ENI, not another's.
    const raw = JSON.stringify(lt.props.LaunchTemplateData.UserData);
    expect(raw).toContain('ZoneBFloatingEni');
    expect(raw).not.toContain('ZoneAFloatingEni');
  });

  it('puts the lifecycle hooks the agent answers on each group, so the first nodes are gated too', () => {
    for (const group of Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup')))
      expect(group.Properties.LifecycleHookSpecificationList).toEqual([
        { LifecycleHookName: 'natkeeper-launch', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', DefaultResult: 'ABANDON', HeartbeatTimeout: 300 },
        { LifecycleHookName: 'natkeeper-terminate', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', DefaultResult: 'CONTINUE', HeartbeatTimeout: 120 },
      ]);
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
  });

  it('creates the lease table: pk/sk, on-demand, point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('runs the Lambda outside the VPC on Node 22 arm64 with an environment its own loader accepts', () => {
    const fn = resourceLike(template, 'AWS::Lambda::Function', 'ControlPlaneFunction');
    expect(fn.props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 60 });
    expect(fn.props.VpcConfig).toBeUndefined();
    expect(fn.props.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringContaining('ControlPlaneLogs') });
    const env = fn.props.Environment.Variables;
    // What the handler reads at cold start (src/lambda/config.ts), tokens replaced by stand-ins.
    const { config, namespace, holder } = loadLambdaEnv({ ...env, NATKEEPER_CONFIG: renderJoin(env.NATKEEPER_CONFIG, resolve), AWS_LAMBDA_FUNCTION_NAME: 'fn' });
    // The namespace the alarms watch.
    expect(namespace).toBe(`NatKeeper/${clusterName}`);
    expect(holder).toBe('lambda:fn');
    expect(config.region).toBe('eu-west-1');
    expect(config.lease).toMatchObject({ store: 'dynamodb', table: STAND_INS.LeaseTable, name: clusterName });
    expect(config.controller).toMatchObject({ vpcId: STAND_INS.Vpc, zones: [...TEST_ZONES], failbackAfterMs: 60_000 });
    expect(config.controller.fallbackNatGatewayIds).toBeUndefined();
  });

  it('wakes the Lambda on EC2, Spot, rebalance, lifecycle events and every minute', () => {
    const fn = resourceLike(template, 'AWS::Lambda::Function', 'ControlPlaneFunction');
    const target = [expect.objectContaining({ Arn: { 'Fn::GetAtt': [fn.id, 'Arn'] } })];
    const rule = (part: string) => resourceLike(template, 'AWS::Events::Rule', part).props;
    expect(rule('InstanceStateChange')).toMatchObject({
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] } },
      Targets: target,
    });
    expect(rule('SpotInterruption')).toMatchObject({ EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] }, Targets: target });
    expect(rule('RebalanceRecommendation')).toMatchObject({ EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] }, Targets: target });
    const groups = logicalIds(template, 'AWS::AutoScaling::AutoScalingGroup').map((id) => ({ Ref: id }));
    expect(rule('LifecycleActions')).toMatchObject({
      EventPattern: {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: groups },
      },
      Targets: target,
    });
    expect(rule('Schedule')).toMatchObject({ ScheduleExpression: 'rate(1 minute)', Targets: target });
    template.resourceCountIs('AWS::Events::Rule', 5);
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', Action: 'lambda:InvokeFunction' }, 5);
  });

  it('matches the events AWS sends (the lab\'s shapes, as the Lambda is tested with) and nothing else', () => {
    const origin = { region: TEST_ENV.region, accountId: TEST_ENV.account, now: () => Date.now() };
    const groups = logicalIds(template, 'AWS::AutoScaling::AutoScalingGroup');
    const patterns = logicalIds(template, 'AWS::Events::Rule')
      .map((id) => template.toJSON().Resources[id].Properties.EventPattern)
      .filter((p: Cfn) => p !== undefined);
    // EventBridge semantics for the patterns used here: every key listed must match one of its values.
    const value = (v: Cfn): unknown => (v && typeof v === 'object' && 'Ref' in v ? v.Ref : v);
    const matches = (pattern: Cfn, event: Cfn): boolean =>
      Object.entries(pattern).every(([key, want]) =>
        Array.isArray(want) ? want.map(value).includes(event?.[key]) : matches(want, event?.[key]),
      );
    const wakes = (event: Cfn) => patterns.some((p: Cfn) => matches(p, event));
    const lifecycle = (transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING', group: string) =>
      lifecycleActionEvent(origin, { token: 't', autoScalingGroupName: group, autoScalingGroupARN: 'arn', lifecycleHookName: 'h', instanceId: 'i-1', transition });
    const woken = [
      ...EC2_STATES_WATCHED.map((state) => instanceStateChangeEvent(origin, 'i-1', state)),
      spotInterruptionEvent(origin, 'i-1', 'terminate'),
      rebalanceRecommendationEvent(origin, 'i-1'),
      ...groups.flatMap((g) => [lifecycle('autoscaling:EC2_INSTANCE_LAUNCHING', g), lifecycle('autoscaling:EC2_INSTANCE_TERMINATING', g)]),
    ];
    expect(woken.filter((e) => !wakes(e))).toEqual([]);
    expect(new Set(woken.map((e) => e['detail-type']))).toEqual(new Set(DETAIL_TYPES));
    const ignored = [instanceStateChangeEvent(origin, 'i-1', 'running'), instanceStateChangeEvent(origin, 'i-1', 'pending'), lifecycle('autoscaling:EC2_INSTANCE_TERMINATING', 'someone-elses-group')];
    expect(ignored.filter((e) => wakes(e))).toEqual([]);
  });

  it('alarms on the contract\'s metrics to the topic', () => {
    const topic = { Ref: resourceLike(template, 'AWS::SNS::Topic', 'Topic').id };
    const namespace = `NatKeeper/${clusterName}`;
    const alarm = (part: string) => resourceLike(template, 'AWS::CloudWatch::Alarm', part).props;
    expect(alarm('NoLeaseHolder')).toMatchObject({
      Namespace: namespace, MetricName: 'LeaseHeld', Statistic: 'Maximum', Period: 60,
      ComparisonOperator: 'LessThanThreshold', Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: 'breaching',
      AlarmActions: [topic], OKActions: [topic],
    });
    expect(alarm('ZoneWithoutEgress')).toMatchObject({
      Namespace: namespace, MetricName: 'ZonesWithoutEgress', Statistic: 'Maximum', Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 2,
      AlarmActions: [topic],
    });
    expect(alarm('RepeatedFailovers')).toMatchObject({
      Namespace: namespace, MetricName: 'Failovers', Statistic: 'Sum', Period: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 3, EvaluationPeriods: 1,
      AlarmActions: [topic],
    });
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.Dimensions).toBeUndefined();
  });

  it('sends Auto Scaling notifications to an encrypted, TLS-only topic that CloudWatch may publish to', () => {
    const topic = resourceLike(template, 'AWS::SNS::Topic', 'Topic');
    expect(topic.props.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringContaining('AlarmsKey'), 'Arn'] });
    // A topic policy replaces SNS's default one: without this Allow, no alarm action is delivered.
    const statements = resourceLike(template, 'AWS::SNS::TopicPolicy', 'Topic').props.PolicyDocument.Statement;
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Resource: { Ref: topic.id },
        Condition: {
          StringEquals: { 'aws:SourceAccount': TEST_ENV.account },
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:${TEST_ENV.region}:${TEST_ENV.account}:alarm:*`]] } },
        },
      }),
    ]);
    for (const g of Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup')))
      expect(g.Properties.NotificationConfigurations).toEqual([expect.objectContaining({ TopicARN: { Ref: topic.id } })]);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('gives both roles the natkeeper policy: every mutation needs the cluster tag', () => {
    const roles = [
      ['ClusterAgentRole', 'agent'],
      ['ControlPlaneRole', 'lambda'],
    ] as const;
    for (const [part, principal] of roles) {
      const role = resourceLike(template, 'AWS::IAM::Role', part).props;
      expect(role.Policies.map((p: Cfn) => p.PolicyName)).toEqual(['natkeeper']);
      const doc = role.Policies[0].PolicyDocument;
      // The statements src/iam/policy.ts writes for this principal (natkeeper iam-policy prints the same).
      const expected = natkeeperPolicy({ principal, clusterName, leaseTable: 'any-table' }).Statement;
      expect(doc.Statement.map((st: Cfn) => [st.Sid, [st.Action].flat()])).toEqual(expected.map((st) => [st.Sid, st.Action]));
      const mutating = doc.Statement.filter((s: Cfn) => [s.Action].flat().some((a: string) => /^(ec2:(Replace|Attach|Detach|Modify)|autoscaling:(Complete|Record))/.test(a)));
      expect(mutating.length).toBeGreaterThan(3);
      for (const s of mutating) {
        const tag = s.Condition?.StringEquals?.['ec2:ResourceTag/natkeeper:cluster'] ?? s.Condition?.StringEquals?.['autoscaling:ResourceTag/natkeeper:cluster'];
        expect(tag, JSON.stringify(s)).toBe(clusterName);
      }
      const lease = doc.Statement.find((s: Cfn) => s.Sid === 'LeaseAndDecisionLogInLeaseTable');
      expect(JSON.stringify(lease.Resource)).toContain('LeaseTable');
    }
    // The agent reads exactly its two asset objects; the Lambda writes only its log group.
    const agentPolicy = resourceLike(template, 'AWS::IAM::Policy', 'AgentRoleDefaultPolicy').props.PolicyDocument.Statement;
    expect(agentPolicy).toEqual([expect.objectContaining({ Action: 's3:GetObject', Resource: [expect.anything(), expect.anything()] })]);
    const logging = resourceLike(template, 'AWS::IAM::Policy', 'ControlPlaneLogging').props.PolicyDocument.Statement;
    expect(logging).toEqual([expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [expect.stringContaining('ControlPlaneLogs'), 'Arn'] } })]);
    template.resourcePropertiesCountIs('AWS::IAM::Role', { ManagedPolicyArns: Match.anyValue() }, 0);
    // Nothing else grants anything (the VPC's flow log role is the test VPC's own).
    expect(logicalIds(template, 'AWS::IAM::Policy').map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'NatClusterAgentRoleDefaultPolicy',
      'NatClusterControlPlaneLogging',
      'VpcFlowLogIAMRoleDefaultPolicy',
    ]);
    template.resourceCountIs('AWS::IAM::Role', 3);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement reasoned', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('NatKeeper on an imported VPC, every prop set', () => {
  let stack: Stack;
  let template: Template;
  let nat: NatKeeper;

  beforeAll(() => {
    stack = testStack('Imported');
    const vpc = importedVpc(stack, 'Vpc');
    const table = createLeaseTable(stack, 'SharedLeases');
    const topic = sns.Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops');
    nat = new NatKeeper(stack, 'Nat', {
      vpc,
      zones: ['eu-west-1a', 'eu-west-1b'],
      instanceType: new ec2.InstanceType('c7i.large'),
      nodesPerZone: 3,
      spot: true,
      // Zone b's tables are named explicitly: two, one of them not a subnet's.
      routeTables: { 'eu-west-1b': ['rtb-0ccccccccccccccc2', 'rtb-0ddddddddddddddd9'] },
      fallbackNatGatewayIds: { 'eu-west-1a': 'nat-0123456789abcdef0' },
      probeTargets: [{ kind: 'tcp', host: '203.0.113.10', port: 443, name: 'edge' }, { kind: 'icmp', host: '198.51.100.1' }],
      failbackAfter: Duration.minutes(2),
      leaseStore: { table },
      alarmTopic: topic,
      clusterName: 'prod-egress',
    });
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT_MS);

  it('uses the given table, topic and cluster name instead of creating them', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(nat.cluster.clusterName).toBe('prod-egress');
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
  });

  it('launches x86_64 Spot nodes, three per zone', () => {
    expect(Object.values(template.toJSON().Parameters).map((p: Cfn) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64');
    for (const lt of Object.values(template.findResources('AWS::EC2::LaunchTemplate'))) {
      expect(lt.Properties.LaunchTemplateData.InstanceType).toBe('c7i.large');
      expect(lt.Properties.LaunchTemplateData.InstanceMarketOptions).toMatchObject({ MarketType: 'spot' });
    }
    template.resourcePropertiesCountIs('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '3', VPCZoneIdentifier: ['subnet-0aaaaaaaaaaaaaaa1'] }, 1);
    template.resourcePropertiesCountIs('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '3', VPCZoneIdentifier: ['subnet-0aaaaaaaaaaaaaaa2'] }, 1);
  });

  it('routes the subnet table of zone a and the named tables of zone b, tagging them through the EC2 API', () => {
    const eni = (letter: string) => ({ 'Fn::GetAtt': [resourceLike(template, 'AWS::EC2::NetworkInterface', `Zone${letter}FloatingEni`).id, 'Id'] });
    for (const [table, letter] of [['rtb-0ccccccccccccccc1', 'A'], ['rtb-0ccccccccccccccc2', 'B'], ['rtb-0ddddddddddddddd9', 'B']] as const)
      template.resourcePropertiesCountIs('AWS::EC2::Route', { RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: eni(letter) }, 1);
    template.resourceCountIs('AWS::EC2::Route', 3);
    const tagCalls = Object.values(template.findResources('Custom::AWS')).map((r) => JSON.parse(renderJoin(r.Properties.Create, resolve)));
    expect(tagCalls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'createTags', parameters: { Resources: ['rtb-0ccccccccccccccc1'], Tags: [{ Key: 'natkeeper:zone', Value: 'eu-west-1a' }, { Key: 'natkeeper:cluster', Value: 'prod-egress' }] } }),
        expect.objectContaining({ action: 'createTags', parameters: { Resources: ['rtb-0ccccccccccccccc2', 'rtb-0ddddddddddddddd9'], Tags: [{ Key: 'natkeeper:zone', Value: 'eu-west-1b' }, { Key: 'natkeeper:cluster', Value: 'prod-egress' }] } }),
      ]),
    );
    expect(tagCalls).toHaveLength(2);
  });

  it('hands probe targets, failback and the fallback NAT Gateway to the agents and the Lambda', () => {
    const lt = resourceLike(template, 'AWS::EC2::LaunchTemplate', 'ZoneALaunchTemplate');
    const { config: agent } = userDataConfig(lt.props);
    expect(agent.probe.targets.map((t) => t.name)).toEqual(['edge', 'icmp:198.51.100.1']);
    expect(agent.controller).toMatchObject({ failbackAfterMs: 120_000, fallbackNatGatewayIds: { 'eu-west-1a': 'nat-0123456789abcdef0' }, zones: ['eu-west-1a', 'eu-west-1b'] });
    expect(agent.lease).toMatchObject({ name: 'prod-egress' });
    const fn = resourceLike(template, 'AWS::Lambda::Function', 'ControlPlaneFunction');
    const lambdaConfig = loadLambdaEnv({ NATKEEPER_CONFIG: renderJoin(fn.props.Environment.Variables.NATKEEPER_CONFIG, resolve) }).config;
    expect(lambdaConfig.controller).toMatchObject({ vpcId: 'vpc-0a1b2c3d4e5f60718', fallbackNatGatewayIds: { 'eu-west-1a': 'nat-0123456789abcdef0' } });
    const role = resourceLike(template, 'AWS::IAM::Role', 'ControlPlaneRole').props;
    const statements = role.Policies[0].PolicyDocument.Statement;
    // One NAT Gateway, so IAM renders the single resource unwrapped.
    expect(statements.find((s: Cfn) => s.Sid === 'RouteToFallbackNatGateways').Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:123456789012:natgateway/nat-0123456789abcdef0']],
    });
  });

  it('passes cdk-nag AwsSolutions, the route-table tagging custom resource included', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
