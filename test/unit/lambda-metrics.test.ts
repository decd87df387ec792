// EMF lines field by field, the Lambda's metric set, and throttle counting per attempt.
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { emfLine } from '../../src/lambda/emf.js';
import { metricsLines, type LambdaMetrics } from '../../src/lambda/metrics.js';
import { isThrottlingError } from '../../src/aws/retry.js';
import { createThrottleCounter } from '../../src/lambda/throttles.js';

const TS = 1_800_000_000_123;

describe('emfLine', () => {
  it('builds the _aws envelope exactly per the specification', () => {
    const doc = JSON.parse(emfLine({ namespace: 'NatKeeper', timestamp: TS, dimensions: { Zone: 'eu-west-1a' }, metrics: [{ name: 'Failovers', unit: 'Count', value: 1 }, { name: 'OutageSecondsEstimated', unit: 'Seconds', value: 7 }] })) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(['Failovers', 'OutageSecondsEstimated', 'Zone', '_aws']);
    const aws = doc['_aws'] as Record<string, unknown>;
    expect(Object.keys(aws).sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
    expect(aws['Timestamp']).toBe(TS);
    const directives = aws['CloudWatchMetrics'] as Record<string, unknown>[];
    expect(directives).toHaveLength(1);
    expect(Object.keys(directives[0]!).sort()).toEqual(['Dimensions', 'Metrics', 'Namespace']);
    expect(directives[0]!['Namespace']).toBe('NatKeeper');
    expect(directives[0]!['Dimensions']).toEqual([['Zone']]);
    expect(directives[0]!['Metrics']).toEqual([
      { Name: 'Failovers', Unit: 'Count' },
      { Name: 'OutageSecondsEstimated', Unit: 'Seconds' },
    ]);
    expect(doc['Zone']).toBe('eu-west-1a');
    expect(doc['Failovers']).toBe(1);
    expect(doc['OutageSecondsEstimated']).toBe(7);
  });
  it('no dimensions: one empty dimension set', () => {
    const doc = JSON.parse(emfLine({ namespace: 'N', timestamp: TS, dimensions: {}, metrics: [{ name: 'LeaseHeld', unit: 'Count', value: 0 }] })) as { _aws: { CloudWatchMetrics: { Dimensions: unknown }[] } };
    expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[]]);
  });
  it('refuses what CloudWatch would reject', () => {
    const ok = { namespace: 'N', timestamp: TS, dimensions: {}, metrics: [{ name: 'X', unit: 'Count' as const, value: 1 }] };
    expect(() => emfLine({ ...ok, namespace: '' })).toThrow(/namespace/);
    expect(() => emfLine({ ...ok, metrics: [] })).toThrow(/metrics: expected 1-100/);
    expect(() => emfLine({ ...ok, metrics: [{ name: 'X', unit: 'Count', value: Number.NaN }] })).toThrow(/finite/);
    expect(() => emfLine({ ...ok, timestamp: 1.5 })).toThrow(/timestamp/);
    expect(() => emfLine({ ...ok, dimensions: { X: 'a' } })).toThrow(/used twice/);
  });
});

describe('metricsLines', () => {
  const m: LambdaMetrics = { failovers: 2, failbacks: 0, outageSeconds: 9, leaseChanges: 1, apiThrottles: 3, leaseHeld: 0, zonesWithoutEgress: 1, zones: [{ zone: 'a', failovers: 1, failbacks: 0, outageSeconds: 9 }, { zone: 'b', failovers: 1, failbacks: 0, outageSeconds: 0 }] };
  it('one line without dimensions carrying every metric, one per zone that moved', () => {
    const lines = metricsLines('NatKeeper', m, TS).map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } });
    expect(lines).toHaveLength(3);
    const [total, a, b] = lines as [typeof lines[0], typeof lines[0], typeof lines[0]];
    expect(total._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[]]);
    expect(total._aws.CloudWatchMetrics[0]!.Metrics.map((x) => x.Name)).toEqual(['Failovers', 'Failbacks', 'OutageSecondsEstimated', 'LeaseChanges', 'ApiThrottles', 'LeaseHeld', 'ZonesWithoutEgress']);
    expect(total).toMatchObject({ Failovers: 2, Failbacks: 0, OutageSecondsEstimated: 9, LeaseChanges: 1, ApiThrottles: 3, LeaseHeld: 0, ZonesWithoutEgress: 1 });
    expect(a._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Zone']]);
    expect(a).toMatchObject({ Zone: 'a', Failovers: 1, Failbacks: 0, OutageSecondsEstimated: 9 });
    expect(b).toMatchObject({ Zone: 'b', Failovers: 1, OutageSecondsEstimated: 0 });
    expect(a._aws.CloudWatchMetrics[0]!.Metrics.map((x) => x.Name)).toEqual(['Failovers', 'Failbacks', 'OutageSecondsEstimated']);
  });
  it('leaves out LeaseHeld and ZonesWithoutEgress when not measured (an ignored event)', () => {
    const [line] = metricsLines('NatKeeper', { failovers: 0, failbacks: 0, outageSeconds: 0, leaseChanges: 0, apiThrottles: 0, zones: [] }, TS);
    const doc = JSON.parse(line!) as Record<string, unknown>;
    expect(doc['LeaseHeld']).toBeUndefined();
    expect(doc['ZonesWithoutEgress']).toBeUndefined();
  });
});

describe('throttle counting', () => {
  it('names: EC2, Auto Scaling, DynamoDB; $retryable.throttling; others are not', () => {
    for (const name of ['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'ProvisionedThroughputExceededException']) expect(isThrottlingError({ name })).toBe(true);
    expect(isThrottlingError({ name: 'X', $retryable: { throttling: true } })).toBe(true);
    for (const e of [{ name: 'InvalidParameterValue' }, null, 'RequestLimitExceeded', undefined]) expect(isThrottlingError(e)).toBe(false);
  });

  it('counts every throttled attempt of a real SDK client, the SDK’s own retries included', async () => {
    let attempts = 0;
    const xml = '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>';
    const ec2 = new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' },
      maxAttempts: 2,
      requestHandler: {
        handle: async () => {
          attempts++;
          return { response: { statusCode: 503, reason: 'Service Unavailable', headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(xml)]) } };
        },
      } as never,
    });
    const counter = createThrottleCounter();
    const wrapped = counter.wrap(ec2);
    await expect(wrapped.send(new DescribeRegionsCommand({}))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    expect(attempts).toBe(2);
    expect(counter.count()).toBe(2);
    expect(counter.take()).toBe(2);
    expect(counter.count()).toBe(0);
    ec2.destroy();
  }, 15_000);

  it('a fake client without middleware: counted per failed call', async () => {
    const counter = createThrottleCounter();
    const fake = { send: async (_c: unknown) => Promise.reject(Object.assign(new Error('slow down'), { name: 'Throttling' })) };
    await expect(counter.wrap(fake).send({})).rejects.toThrow('slow down');
    expect(counter.count()).toBe(1);
  });
});
