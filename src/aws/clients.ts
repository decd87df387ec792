// AWS SDK clients with optional endpoint overrides (the lab serves EC2 and Auto
// Scaling on 127.0.0.1). Without an endpoint the SDK's own resolution applies.
// Every client has connection and request timeouts: without them a call to an
// unreachable endpoint hangs the agent's setup and shutdown.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';

export interface AwsClientOptions {
  region?: string;
  /** e.g. http://127.0.0.1:4566 for the lab; default: the SDK's regional endpoint. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call (default: the SDK's 3). natkeeper's own retries come on top. */
  maxAttempts?: number;
  /** Per-attempt timeouts; default AWS_DEFAULT_TIMEOUTS. */
  timeouts?: AwsTimeouts;
}

export interface AwsTimeouts {
  /** Milliseconds to establish the TCP (and TLS) connection. */
  connectionTimeoutMs?: number;
  /** Milliseconds for one attempt's request and response; exceeding it fails the attempt. */
  requestTimeoutMs?: number;
}

export const AWS_DEFAULT_TIMEOUTS = { connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 } as const satisfies Required<AwsTimeouts>;

/**
 * NodeHttpHandler options (the clients accept them as a plain object for `requestHandler`).
 * throwOnRequestTimeout: without it @smithy/node-http-handler only logs a warning when
 * requestTimeout passes and the call keeps waiting.
 */
export function requestHandlerOptions(t: AwsTimeouts = {}) {
  return {
    connectionTimeout: t.connectionTimeoutMs ?? AWS_DEFAULT_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: t.requestTimeoutMs ?? AWS_DEFAULT_TIMEOUTS.requestTimeoutMs,
    throwOnRequestTimeout: true,
  };
}

/** Client config shared by natkeeper's SDK clients (EC2, Auto Scaling, DynamoDB). */
export function awsClientConfig(opts: AwsClientOptions) {
  return {
    requestHandler: requestHandlerOptions(opts.timeouts),
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  };
}

export function createAutoScalingClient(opts: AwsClientOptions = {}): AutoScalingClient {
  return new AutoScalingClient(awsClientConfig(opts));
}

export function createEc2Client(opts: AwsClientOptions = {}): EC2Client {
  return new EC2Client(awsClientConfig(opts));
}
