// The two roles, each with the least-privilege policy src/iam/policy.ts writes for its
// principal (the same one `natkeeper iam-policy` prints), attached inline.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { natkeeperPolicy, type NatkeeperPrincipal } from '../../src/iam/policy.js';

export interface NatkeeperPolicyScope {
  readonly clusterName: string;
  readonly vpcId: string;
  /** The lease table's name. */
  readonly leaseTable: string;
  readonly fallbackNatGatewayIds: readonly string[];
}

function policyFor(scope: Construct, principal: NatkeeperPrincipal, s: NatkeeperPolicyScope): iam.PolicyDocument {
  const stack = Stack.of(scope);
  return iam.PolicyDocument.fromJson(
    natkeeperPolicy({
      principal,
      clusterName: s.clusterName,
      partition: stack.partition,
      region: stack.region,
      account: stack.account,
      vpcId: s.vpcId,
      leaseTable: s.leaseTable,
      fallbackNatGatewayIds: s.fallbackNatGatewayIds,
    }),
  );
}

/** The NAT nodes' role (instance profile): node setup, lifecycle hooks, controller while leader. */
export function createAgentRole(scope: Construct, id: string, s: NatkeeperPolicyScope): iam.Role {
  return new iam.Role(scope, id, {
    description: `natkeeper agent on the NAT nodes of cluster ${s.clusterName}`,
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    inlinePolicies: { natkeeper: policyFor(scope, 'agent', s) },
  });
}

/** The Lambda's role: the controller woken by events, plus its own log group (added by the caller). */
export function createLambdaRole(scope: Construct, id: string, s: NatkeeperPolicyScope): iam.Role {
  return new iam.Role(scope, id, {
    description: `natkeeper event-driven controller of cluster ${s.clusterName}`,
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    inlinePolicies: { natkeeper: policyFor(scope, 'lambda', s) },
  });
}
