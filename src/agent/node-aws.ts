// What the agent learns about its node and builds from the config for AWS: region, the
// VPC and subnet of its primary ENI (IMDS), the SDK clients, and the lease store.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { awsClientConfig, createAutoScalingClient, createEc2Client } from '../aws/clients.js';
import type { ImdsClient } from '../aws/imds.js';
import type { AgentConfig } from '../config/agent-config.js';
import { normalizeCidr } from '../dataplane/config.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import { DynamoDbLeaseStore } from '../lease/dynamodb.js';
import { EtcdLeaseStore } from '../lease/etcd.js';

export interface NodeNetwork {
  vpcId?: string;
  /** The primary ENI's subnet, e.g. 10.0.0.0/24: peers inside it can be next hops. */
  subnetCidr?: string;
}

/** The primary ENI's VPC and subnet from IMDS (device 0's MAC); fields IMDS lacks stay undefined. */
export async function nodeNetwork(imds: Pick<ImdsClient, 'get'>): Promise<NodeNetwork> {
  const mac = (await imds.get('mac'))?.trim();
  if (!mac) return {};
  const vpcId = (await imds.get(`network/interfaces/macs/${mac}/vpc-id`))?.trim();
  const subnetCidr = (await imds.get(`network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`))?.trim();
  return { ...(vpcId ? { vpcId } : {}), ...(subnetCidr ? { subnetCidr } : {}) };
}

/** Whether `address` lies in `cidr` (no CIDR known: assume on-link, as static peers are configured to be). */
export function onLinkIn(cidr: string | undefined): (address: string) => boolean {
  if (!cidr) return () => true;
  const len = cidr.split('/')[1] ?? '32';
  return (address) => {
    try {
      return normalizeCidr('peer address', `${address}/${len}`) === cidr;
    } catch {
      return false;
    }
  };
}

export async function regionOf(config: AgentConfig, imds: Pick<ImdsClient, 'get'>): Promise<string | undefined> {
  return config.region ?? (await imds.get('placement/region').catch(() => undefined))?.trim();
}

/** Static credentials for a client (the lab runner's own key); default: the SDK's chain. */
export type AwsCredentials = { accessKeyId: string; secretAccessKey: string };

/** Client options for one service: the region, the config's endpoint override, credentials when given. */
function clientOptions(region: string | undefined, endpoint: string | undefined, credentials: AwsCredentials | undefined) {
  return { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
}

export function ec2Client(config: AgentConfig, region: string | undefined, credentials?: AwsCredentials): EC2Client {
  return createEc2Client(clientOptions(region, config.endpoints.ec2, credentials));
}

export function autoScalingClient(config: AgentConfig, region: string | undefined, credentials?: AwsCredentials): AutoScalingClient {
  return createAutoScalingClient(clientOptions(region, config.endpoints.autoscaling, credentials));
}

export function dynamoDbClient(config: AgentConfig, region: string | undefined, credentials?: AwsCredentials): DynamoDBClient {
  return new DynamoDBClient(awsClientConfig(clientOptions(region, config.endpoints.dynamodb, credentials)));
}

/** The DynamoDB lease store of a dynamodb config, on `client`. */
export function dynamoDbLeaseStore(config: AgentConfig, client: DynamoDBClient, clock: Clock): DynamoDbLeaseStore {
  return new DynamoDbLeaseStore({ client, tableName: config.lease.table!, leaseName: config.lease.name, clock });
}

export function leaseStoreFor(config: AgentConfig, region: string | undefined, clock: Clock): LeaseStore {
  const l = config.lease;
  if (l.store === 'etcd') return new EtcdLeaseStore({ endpoint: l.endpoint!, prefix: `natkeeper/lease/${l.name}`, clock });
  return dynamoDbLeaseStore(config, dynamoDbClient(config, region), clock);
}
