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

/** Who assumes each principal's role, and what the role is for. */
const ROLES: Record<NatkeeperPrincipal, { service: string; describe: (clusterName: string) => string }> = {
  // Node setup, lifecycle hooks, the controller while leader; assumed through the instance profile.
  agent: { service: 'ec2.amazonaws.com', describe: (c) => `natkeeper agent on the NAT nodes of cluster ${c}` },
  // The controller woken by events; its own log group is added by the caller.
  lambda: { service: 'lambda.amazonaws.com', describe: (c) => `natkeeper event-driven controller of cluster ${c}` },
};

/** The principal's role with its natkeeper policy inline. */
export function createNatkeeperRole(scope: Construct, id: string, principal: NatkeeperPrincipal, s: NatkeeperPolicyScope): iam.Role {
  const role = ROLES[principal];
  return new iam.Role(scope, id, {
    description: role.describe(s.clusterName),
    assumedBy: new iam.ServicePrincipal(role.service),
    inlinePolicies: { natkeeper: policyFor(scope, principal, s) },
  });
}
