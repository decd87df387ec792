// AWS SDK clients with optional endpoint overrides (the lab serves EC2 and Auto
// Scaling on 127.0.0.1). Without an endpoint the SDK's own resolution applies.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';

export interface AwsClientOptions {
  region?: string;
  /** e.g. http://127.0.0.1:4566 for the lab; default: the SDK's regional endpoint. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call (default: the SDK's 3). natkeeper's own retries come on top. */
  maxAttempts?: number;
}

function config(opts: AwsClientOptions) {
  return {
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  };
}

export function createAutoScalingClient(opts: AwsClientOptions = {}): AutoScalingClient {
  return new AutoScalingClient(config(opts));
}

export function createEc2Client(opts: AwsClientOptions = {}): EC2Client {
  return new EC2Client(config(opts));
}
