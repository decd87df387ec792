// The serverless backstop: the Lambda (src/lambda) woken by EC2, Spot, rebalance and
// Auto Scaling lifecycle events and every minute, running one reconcile cycle of the same
// controller under the same lease as the agents; and the alarms on what it reports.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AgentConfigInput } from '../../src/config/agent-config.js';
import { NatKeeperAlarms } from './alarms.js';
import { createNatkeeperRole, type NatkeeperPolicyScope } from './iam.js';
import { acknowledgeNatkeeperPolicy } from './nag.js';

/** The lease and controller settings the Lambda runs with, the same the agents get. */
export type ControllerConfig = Required<Pick<AgentConfigInput, 'lease' | 'controller'>>;

export interface NatKeeperControlPlaneProps {
  /** The cluster, its VPC, lease table and fallback NAT Gateways: what the Lambda's role may touch. */
  readonly policyScope: NatkeeperPolicyScope;
  /** The agents' lease and controller settings; the Lambda adds the region and the VPC id. */
  readonly controllerConfig: ControllerConfig;
  readonly groups: readonly autoscaling.IAutoScalingGroup[];
  readonly alarmTopic: sns.ITopic;
  readonly lambdaDir: string;
}

/** EC2 instance states that can take egress away (the Lambda ignores instances that are not NATs). */
export const EC2_STATES_WATCHED = ['stopping', 'stopped', 'shutting-down', 'terminated'] as const;

export class NatKeeperControlPlane extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly rules: {
    readonly instanceStateChange: events.Rule;
    readonly spotInterruption: events.Rule;
    readonly rebalanceRecommendation: events.Rule;
    readonly lifecycleActions: events.Rule;
    readonly schedule: events.Rule;
  };
  readonly alarms: NatKeeperAlarms;
  /** The CloudWatch namespace the Lambda's EMF metrics go to: one per cluster. */
  readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: NatKeeperControlPlaneProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { clusterName, vpcId } = props.policyScope;
    this.metricsNamespace = `NatKeeper/${clusterName}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS });
    this.role = createNatkeeperRole(this, 'Role', 'lambda', props.policyScope);
    // Its own log group only, instead of AWSLambdaBasicExecutionRole's logs on "*"
    // (a log group's Arn attribute ends in :*, which covers its streams).
    this.role.attachInlinePolicy(
      new iam.Policy(this, 'Logging', {
        statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] })],
      }),
    );
    acknowledgeNatkeeperPolicy(this.role, 'lambda', clusterName);

    this.function = new lambda.Function(this, 'Function', {
      description: `natkeeper event-driven controller for cluster ${clusterName}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      code: lambda.Code.fromAsset(props.lambdaDir),
      handler: 'index.handler',
      timeout: Duration.seconds(60),
      memorySize: 256,
      role: this.role,
      logGroup: this.logGroup,
      // Deliberately NOT in the VPC: it must reach the EC2, Auto Scaling and DynamoDB APIs
      // when every NAT is down, which is exactly when it is needed.
      environment: {
        // Same schema as the agent's config file (src/config/agent-config.ts); toJsonString
        // resolves the tokens (table name, VPC id, region) at deploy time.
        NATKEEPER_CONFIG: stack.toJsonString({
          region: stack.region,
          lease: props.controllerConfig.lease,
          controller: { vpcId, ...props.controllerConfig.controller },
        }),
        NATKEEPER_METRICS_NAMESPACE: this.metricsNamespace,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The handler is bundled and tested for Node.js 22 (scripts/bundle.mjs targets node22, issue 5); a runtime bump is a deliberate change with its own tests.',
    });

    const target = new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.minutes(5) });
    const rule = (id: string, description: string, pattern: events.EventPattern) =>
      new events.Rule(this, id, { description: `natkeeper ${clusterName}: ${description}`, eventPattern: pattern, targets: [target] });
    this.rules = {
      instanceStateChange: rule('InstanceStateChange', 'an instance is stopping or gone', {
        source: ['aws.ec2'],
        detailType: ['EC2 Instance State-change Notification'],
        detail: { state: [...EC2_STATES_WATCHED] },
      }),
      spotInterruption: rule('SpotInterruption', 'a Spot instance gets its two-minute warning', {
        source: ['aws.ec2'],
        detailType: ['EC2 Spot Instance Interruption Warning'],
      }),
      rebalanceRecommendation: rule('RebalanceRecommendation', 'a Spot instance is at elevated risk of interruption', {
        source: ['aws.ec2'],
        detailType: ['EC2 Instance Rebalance Recommendation'],
      }),
      lifecycleActions: rule('LifecycleActions', 'a NAT node launches or terminates', {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: props.groups.map((g) => g.autoScalingGroupName) },
      }),
      schedule: new events.Rule(this, 'Schedule', {
        description: `natkeeper ${clusterName}: a reconcile cycle every minute (level-triggered backstop)`,
        schedule: events.Schedule.rate(Duration.minutes(1)),
        targets: [target],
      }),
    };
    this.alarms = new NatKeeperAlarms(this, 'Alarms', { namespace: this.metricsNamespace, topic: props.alarmTopic, clusterName });
  }
}
