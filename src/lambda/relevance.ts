// EventBridge cannot filter EC2 events by tag, so the state-change, Spot and rebalance
// rules deliver every instance of the account and region (and a lifecycle rule may match
// more groups than natkeeper's: its action must then never be completed here). One filtered Describe call
// tells whether the event is about one of this VPC's NATs before the Lambda reads the
// lease or observes the VPC (four calls more): a busy account's instance churn must not
// spend the account's shared EC2 API budget. A terminated instance stays describable,
// with its tags, for about an hour, which covers the events about it.
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { TAGS } from '../controller/observe.js';

export async function isNatOfVpc(ec2: Pick<EC2Client, 'send'>, vpcId: string, instanceId: string): Promise<boolean> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'instance-id', Values: [instanceId] },
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: `tag:${TAGS.role}`, Values: ['nat'] },
      ],
    }),
  );
  return (out.Reservations ?? []).some((r) => (r.Instances ?? []).some((i) => i.InstanceId === instanceId));
}
