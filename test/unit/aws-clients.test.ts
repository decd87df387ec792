import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_DEFAULT_TIMEOUTS, awsClientConfig, createAutoScalingClient, createEc2Client, requestHandlerOptions } from '../../src/aws/clients.js';
import { leaseStoreFor } from '../../src/agent/node-aws.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';

// A blackholed endpoint: a local TCP server that accepts connections and never answers.
let server: Server;
let endpoint: string;
const sockets = new Set<Socket>();
beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const quick = { connectionTimeoutMs: 200, requestTimeoutMs: 400 };

/** How long `call` took to fail, and what it failed with. */
async function failure(call: () => Promise<unknown>): Promise<{ ms: number; error: Error }> {
  const t0 = Date.now();
  try {
    await call();
  } catch (e) {
    return { ms: Date.now() - t0, error: e as Error };
  }
  throw new Error('expected the call to fail');
}

describe('AWS SDK clients: timeouts', () => {
  it('every client gets connection and request timeouts, and a request timeout is an error', () => {
    expect(AWS_DEFAULT_TIMEOUTS).toEqual({ connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 });
    expect(requestHandlerOptions()).toEqual({ connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
    expect(awsClientConfig({ region: 'eu-west-1', timeouts: { requestTimeoutMs: 500 } })).toEqual({
      region: 'eu-west-1',
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 500, throwOnRequestTimeout: true },
    });
  });

  it('the clients hand the options to their NodeHttpHandler', async () => {
    for (const client of [createEc2Client({ region: 'eu-west-1', credentials }), createAutoScalingClient({ region: 'eu-west-1', credentials })]) {
      const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
      expect(await handler.configProvider).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
      client.destroy();
    }
  });

  it('an EC2 call to an endpoint that never answers fails within the request timeout', async () => {
    const ec2 = createEc2Client({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 1, timeouts: quick });
    const r = await failure(() => ec2.send(new DescribeInstancesCommand({})));
    ec2.destroy();
    expect(r.error.name).toBe('TimeoutError');
    expect(r.ms).toBeGreaterThanOrEqual(350);
    expect(r.ms).toBeLessThan(2_000);
  });

  it('with the SDK retries, an Auto Scaling call still ends (attempts × timeout + backoff)', async () => {
    const asg = createAutoScalingClient({ region: 'eu-west-1', endpoint, credentials, timeouts: quick });
    const r = await failure(() => asg.send(new DescribeAutoScalingGroupsCommand({})));
    asg.destroy();
    expect(r.error.name).toBe('TimeoutError');
    expect(r.ms).toBeLessThan(6_000);
  });

  it('a DynamoDB call (lease store client config) to an endpoint that never answers fails within the timeout', async () => {
    const ddb = new DynamoDBClient({ ...awsClientConfig({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 1, timeouts: quick }) });
    const r = await failure(() => ddb.send(new GetItemCommand({ TableName: 't', Key: { k: { S: 'v' } } })));
    ddb.destroy();
    expect(r.error.name).toBe('TimeoutError');
    expect(r.ms).toBeLessThan(2_000);
  });

  it("the agent's DynamoDB lease store client has the default timeouts", async () => {
    const cfg = parseAgentConfig(`lease: { store: dynamodb, table: natkeeper-test }\nendpoints: { dynamodb: "${endpoint}" }\n`);
    const store = leaseStoreFor(cfg, 'eu-west-1', { now: () => new Date() } as never) as unknown as { client: DynamoDBClient };
    const handler = store.client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
    store.client.destroy();
  });
});
