// The default alarm topic: SSE with a customer managed key (CloudWatch alarms and Auto
// Scaling notifications cannot publish to a topic encrypted with the AWS managed
// alias/aws/sns key: its key policy cannot be changed to let them in), TLS-only publishers.
// The TLS-only statement creates a topic policy, which replaces SNS's default one (that
// let the account's services publish): CloudWatch alarms need their own Allow back, or
// every alarm action fails with "not authorized to perform: SNS:Publish".
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export function createAlarmTopic(scope: Construct, id: string): sns.Topic {
  const group = new Construct(scope, id);
  const stack = Stack.of(scope);
  const key = new kms.Key(group, 'Key', {
    description: 'natkeeper alarm topic encryption',
    enableKeyRotation: true,
  });
  const publish = ['kms:Decrypt', 'kms:GenerateDataKey*'];
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      actions: publish,
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  );
  // Auto Scaling notifications are published by its service-linked role. The role exists
  // only once the account's first group is created (maybe by this very stack), and a key
  // policy naming a role that does not exist yet is rejected: match it by ARN instead.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AutoScalingNotificationsPublish',
      actions: publish,
      principals: [new iam.AnyPrincipal()],
      resources: ['*'],
      conditions: {
        ArnEquals: { 'aws:PrincipalArn': `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling` },
        StringEquals: { 'aws:PrincipalAccount': stack.account },
      },
    }),
  );
  const topic = new sns.Topic(group, 'Topic', { displayName: 'natkeeper alarms', masterKey: key, enforceSSL: true });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      actions: ['sns:Publish'],
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
      },
    }),
  );
  return topic;
}
