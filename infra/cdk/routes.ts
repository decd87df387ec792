// The private route tables' side: each managed table gets its 0.0.0.0/0 route to the
// zone's floating ENI and the tags the controller finds it by (natkeeper:zone) and the IAM
// policy requires (natkeeper:cluster). Tables this app synthesizes are tagged in the
// template; tables it only imports (an existing VPC) through the EC2 API at deploy time,
// since CloudFormation cannot tag a resource it does not own.
import { Stack, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { NATKEEPER_TAGS } from './tags.js';

/** The CfnRouteTable behind a subnet this app creates; undefined for imported subnets. */
export function ownedRouteTable(subnet: ec2.ISubnet): ec2.CfnRouteTable | undefined {
  if (!(subnet instanceof ec2.Subnet)) return undefined;
  const table = subnet.node.tryFindChild('RouteTable');
  return table instanceof ec2.CfnRouteTable ? table : undefined;
}

/** Tags a route table of this app for the controller and the IAM policy. */
export function tagOwnedRouteTable(table: ec2.CfnRouteTable, zone: string, clusterName: string): void {
  Tags.of(table).add(NATKEEPER_TAGS.zone, zone);
  Tags.of(table).add(NATKEEPER_TAGS.cluster, clusterName);
}

export interface ForeignRouteTableTagsProps {
  readonly zone: string;
  readonly clusterName: string;
  readonly routeTableIds: readonly string[];
}

/** CreateTags on route tables this app does not own (removed again on delete). */
export class ForeignRouteTableTags extends Construct {
  constructor(scope: Construct, id: string, props: ForeignRouteTableTagsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const tags = [
      { Key: NATKEEPER_TAGS.zone, Value: props.zone },
      { Key: NATKEEPER_TAGS.cluster, Value: props.clusterName },
    ];
    const call = (action: 'createTags' | 'deleteTags'): cr.AwsSdkCall => ({
      service: 'EC2',
      action,
      parameters: { Resources: [...props.routeTableIds], Tags: tags },
      physicalResourceId: cr.PhysicalResourceId.of(`natkeeper-route-tags-${props.clusterName}-${props.zone}`),
    });
    new cr.AwsCustomResource(this, 'Resource', {
      onCreate: call('createTags'),
      onUpdate: call('createTags'),
      onDelete: call('deleteTags'),
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
          resources: props.routeTableIds.map((id) => stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: id })),
        }),
      ]),
    });
    // The provider function is one per stack, shared by every AwsCustomResource in it.
    const provider = stack.node.tryFindChild(cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '').replace(/^/, 'AWS'));
    if (provider)
      Validations.of(provider).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'The CDK\'s AwsCustomResource provider (tags the imported route tables natkeeper manages) comes with the AWS managed logging policy; its API permissions are the inline CreateTags/DeleteTags on those route tables only.',
        },
        {
          id: 'AwsSolutions-L1',
          reason: 'The runtime of the CDK\'s AwsCustomResource provider is chosen by aws-cdk-lib, not by natkeeper.',
        },
      );
  }
}
