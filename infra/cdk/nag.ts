// cdk-nag (v3) acknowledgements, each with the reason it does not apply. They use the
// CDK's own Validations API, so the construct needs no cdk-nag at run time. Finding ids
// of IAM5 name the wildcard resource as cdk-nag prints it: region and account literal
// when the stack has them, <AWS::Region>/<AWS::AccountId> otherwise.
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { natkeeperPolicy, type NatkeeperPrincipal } from '../../src/iam/policy.js';

function nagArn(scope: IConstruct, service: string, resource: string): string {
  const stack = Stack.of(scope);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
}

/** The wildcards of src/iam/policy.ts's statements, on the role that carries them. */
export function acknowledgeNatkeeperPolicy(role: IConstruct, principal: NatkeeperPrincipal, clusterName: string): void {
  const tagged = `tagged natkeeper:cluster=${clusterName}`;
  // The principal's own read-only actions on "*" (they do not depend on the other inputs).
  const unscoped = natkeeperPolicy({ principal, clusterName, leaseTable: 'natkeeper' })
    .Statement.filter((s) => s.Resource === '*')
    .flatMap((s) => s.Action);
  Validations.of(role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${unscoped.join(', ')} support no resource-level permissions (Service Authorization Reference); they change nothing.`,
    },
    {
      id: `AwsSolutions-IAM5[Resource::${nagArn(role, 'ec2', 'route-table/*')}]`,
      reason: `The managed route tables are found by tag at run time; ReplaceRoute and ReplaceRouteTableAssociation apply only to tables ${tagged} in this VPC (ec2:ResourceTag and ec2:Vpc conditions).`,
    },
    {
      id: `AwsSolutions-IAM5[Resource::${nagArn(role, 'ec2', 'network-interface/*')}]`,
      reason: `NAT nodes and their ENIs are launched by Auto Scaling at run time; attach, detach, route to, and source/dest check changes apply only to ENIs ${tagged} in this VPC.`,
    },
    {
      id: `AwsSolutions-IAM5[Resource::${nagArn(role, 'ec2', 'instance/*')}]`,
      reason: `NAT instances are launched by Auto Scaling at run time; attaching the floating ENI to them and routing to them apply only to instances ${tagged} (propagated at launch).`,
    },
    {
      id: `AwsSolutions-IAM5[Resource::${nagArn(role, 'autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')}]`,
      reason: `A group ARN holds a UUID CloudFormation assigns at deploy time; lifecycle actions apply only to groups ${tagged} (autoscaling:ResourceTag condition).`,
    },
  );
}
