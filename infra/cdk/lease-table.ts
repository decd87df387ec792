// The lease table natkeeper's DynamoDB lease store expects (src/lease/dynamodb.ts):
// partition key `pk` (the lease name), sort key `sk` ("lease" and "log#<seq>").
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

export function createLeaseTable(scope: Construct, id: string): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    // A few writes a second at most (lease renewals): on-demand costs cents.
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    // The decision log is the audit trail of every failover: recoverable to the second.
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
}
