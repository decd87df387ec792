// The least-privilege IAM policy natkeeper's two principals need: the agent (the NAT
// instances' role: node setup, lifecycle hooks, and the controller while it holds the
// lease) and the Lambda (the controller again, woken by events, plus lifecycle actions).
//
// Pure: no SDK, no CDK. Every argument may be a CDK token ("${Token[TOKEN.123]}"): it is
// only interpolated into strings, never parsed, so the construct can pass Stack.region
// and table.tableName.
//
// How EC2 authorizes the calls (Service Authorization Reference, "Actions, resources,
// and condition keys for Amazon EC2"), which is why the statements are split by resource
// type rather than by purpose:
// - Describe* support no resource-level permissions: Resource "*".
// - AttachNetworkInterface / DetachNetworkInterface authorize BOTH the instance and the
//   network interface; ModifyNetworkInterfaceAttribute the network interface.
// - ReplaceRoute authorizes the route table AND its target when one is named (instance,
//   natgateway, network-interface, ...); ReplaceRouteTableAssociation the route table.
// - ec2:Vpc exists on route-table and network-interface, not on instance or natgateway:
//   a condition on a key the resource lacks never matches, so those statements omit it.
// Every statement that can change something requires the natkeeper:cluster tag, which the
// CDK construct puts on everything it creates (instances and their ENIs through the
// launch template, the floating ENIs, the managed route tables, the Auto Scaling groups),
// except the fallback NAT gateways: the operator's own, named one by one.

import { CLUSTER_TAG_KEY } from '../domain/tags.js';

export type NatkeeperPrincipal = 'agent' | 'lambda';

export interface PolicyInput {
  principal: NatkeeperPrincipal;
  /** Value of the natkeeper:cluster tag that every mutation requires. */
  clusterName: string;
  /** Default 'aws'. */
  partition?: string;
  /** Default '*'. */
  region?: string;
  /** Default '*'. */
  account?: string;
  /** Adds ec2:Vpc conditions where the resource type supports them. */
  vpcId?: string;
  /** The DynamoDB lease table's name. */
  leaseTable: string;
  fallbackNatGatewayIds?: readonly string[];
}

export interface PolicyStatementJson {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocumentJson {
  Version: '2012-10-17';
  Statement: PolicyStatementJson[];
}

// Re-exported: callers of the policy read the cluster tag's key from here.
export { CLUSTER_TAG_KEY };

export const NATKEEPER_PRINCIPALS: readonly NatkeeperPrincipal[] = ['agent', 'lambda'];

export class PolicyInputError extends Error {
  override name = 'PolicyInputError';
  constructor(
    readonly field: string,
    expected: string,
  ) {
    super(`${field}: expected ${expected}`);
  }
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new PolicyInputError(field, 'a non-empty string');
  return value;
}

function optionalText(value: unknown, field: string, fallback: string): string {
  return value === undefined ? fallback : requireText(value, field);
}

/** ArnEquals and ArnLike both accept wildcards; ArnLike says so to a reader. */
const arnOperator = (arn: string) => (arn.includes('*') ? 'ArnLike' : 'ArnEquals');

export function natkeeperPolicy(input: PolicyInput): PolicyDocumentJson {
  if (!NATKEEPER_PRINCIPALS.includes(input.principal)) throw new PolicyInputError('principal', `one of ${NATKEEPER_PRINCIPALS.join(', ')}`);
  const agent = input.principal === 'agent';
  const cluster = requireText(input.clusterName, 'clusterName');
  const table = requireText(input.leaseTable, 'leaseTable');
  const partition = optionalText(input.partition, 'partition', 'aws');
  const region = optionalText(input.region, 'region', '*');
  const account = optionalText(input.account, 'account', '*');
  const vpcId = input.vpcId === undefined ? undefined : requireText(input.vpcId, 'vpcId');
  const natGateways = (input.fallbackNatGatewayIds ?? []).map((id, i) => requireText(id, `fallbackNatGatewayIds[${i}]`));

  const ec2Arn = (type: string, id = '*') => `arn:${partition}:ec2:${region}:${account}:${type}/${id}`;
  const tagged = { StringEquals: { [`ec2:ResourceTag/${CLUSTER_TAG_KEY}`]: cluster } };
  const vpcArn = vpcId === undefined ? undefined : ec2Arn('vpc', vpcId);
  const taggedInVpc = vpcArn === undefined ? tagged : { ...tagged, [arnOperator(vpcArn)]: { 'ec2:Vpc': vpcArn } };

  const statements: PolicyStatementJson[] = [
    {
      Sid: 'ReadNetworkStateDescribeHasNoResourceLevelPermissions',
      Effect: 'Allow',
      Action: ['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeRouteTables'],
      Resource: '*',
    },
    {
      Sid: 'ReadLifecycleStateDescribeHasNoResourceLevelPermissions',
      Effect: 'Allow',
      Action: agent ? ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLifecycleHooks'] : ['autoscaling:DescribeAutoScalingInstances'],
      Resource: '*',
    },
    {
      Sid: 'MoveEgressInClusterRouteTables',
      Effect: 'Allow',
      Action: ['ec2:ReplaceRoute', 'ec2:ReplaceRouteTableAssociation'],
      Resource: ec2Arn('route-table'),
      Condition: taggedInVpc,
    },
    {
      // The ENI side of attach/detach, and of a route whose target is a floating ENI.
      Sid: 'MoveClusterFloatingEnisAndRouteToThem',
      Effect: 'Allow',
      Action: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ReplaceRoute'],
      Resource: ec2Arn('network-interface'),
      Condition: taggedInVpc,
    },
    {
      // The instance side of attach/detach, and of a route whose target is a NAT instance.
      // The instance resource has no ec2:Vpc key: the tag alone restricts it.
      Sid: 'AttachToClusterNatInstancesAndRouteToThem',
      Effect: 'Allow',
      Action: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ReplaceRoute'],
      Resource: ec2Arn('instance'),
      Condition: tagged,
    },
  ];
  if (agent)
    statements.push({
      // Node setup: SourceDestCheck off on every ENI of the NAT instance (src/aws/node-setup.ts).
      Sid: 'DisableSourceDestCheckOnClusterEnis',
      Effect: 'Allow',
      Action: ['ec2:ModifyNetworkInterfaceAttribute'],
      Resource: ec2Arn('network-interface'),
      Condition: taggedInVpc,
    });
  if (natGateways.length > 0)
    statements.push({
      // ReplaceRoute authorizes its target too; the operator's NAT gateways are not
      // natkeeper's and carry no cluster tag, so they are named one by one.
      Sid: 'RouteToFallbackNatGateways',
      Effect: 'Allow',
      Action: ['ec2:ReplaceRoute'],
      Resource: natGateways.map((id) => ec2Arn('natgateway', id)),
    });
  statements.push(
    {
      Sid: 'AnswerClusterLifecycleHooks',
      Effect: 'Allow',
      Action: agent ? ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'] : ['autoscaling:CompleteLifecycleAction'],
      Resource: `arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/*`,
      Condition: { StringEquals: { [`autoscaling:ResourceTag/${CLUSTER_TAG_KEY}`]: cluster } },
    },
    {
      // The lease and the decision log (src/lease/dynamodb.ts). No CreateTable or
      // DescribeTable: the CDK construct creates the table; ensureTable() is for labs.
      Sid: 'LeaseAndDecisionLogInLeaseTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      Resource: `arn:${partition}:dynamodb:${region}:${account}:table/${table}`,
    },
  );
  return { Version: '2012-10-17', Statement: statements };
}
