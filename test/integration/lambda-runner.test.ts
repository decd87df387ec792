// The lab's Lambda runner (lab/lambda-runner.ts) against a lab without a data plane (no
// root needed): bad options start nothing; the webhook's answers drive the event bus's
// retries like Lambda's async invocation (500 → delivered again as a retry, a spent retry
// budget → discarded, a delivery timed out while its invocation runs → joined, never a
// second invocation); the schedule invokes the real core against the lab's APIs and
// DynamoDB; close() unsubscribes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLeaseTable } from '../../lab/agents.js';
import { instanceStateChangeEvent, originOf } from '../../lab/emulator/events/shapes.js';
import { LambdaRunnerOptionError, startLambdaRunner, type LambdaRunner, type LambdaRunnerOptions } from '../../lab/lambda-runner.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { ConfigError } from '../../src/config/errors.js';
import type { LambdaOutcome } from '../../src/lambda/core.js';
import { until } from '../support/async.js';

const TABLE = 'natkeeper-runner';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A stand-in for the core: counts calls, runs `body`, returns a minimal outcome. */
function fakeCore(body: (call: number) => Promise<void> | void): NonNullable<LambdaRunnerOptions['createCore']> {
  let calls = 0;
  return () => async (_event, requestId) => {
    await body(++calls);
    return { requestId: requestId ?? '', event: 'instance-state', metrics: { failovers: 0, failbacks: 0, outageSeconds: 0, leaseChanges: 0, apiThrottles: 0, zones: [] } } as unknown as LambdaOutcome;
  };
}

describe('the lab Lambda runner: webhook → invocation, retries, schedule', () => {
  let lab: RunningLab;
  let dir: string;
  const runners: LambdaRunner[] = [];

  const start = async (opts: Partial<LambdaRunnerOptions> = {}) => {
    const r = await startLambdaRunner({ lab, config: { lease: { store: 'dynamodb', table: TABLE } }, ...opts });
    runners.push(r);
    return r;
  };
  /** Publishes a state change of nat-a1 on the lab's bus; resolves with its delivery to `runner` once it is over. */
  const deliverOne = async (runner: LambdaRunner, timeoutMs = 15_000) => {
    const event = instanceStateChangeEvent(originOf(lab.store), lab.manifest.zones[0]!.natInstanceIds[0]!, 'running');
    lab.events.publish(event);
    const delivery = await until('the delivery to the runner', () => lab.events.deliveries().find((d) => d.eventId === event.id && d.subscriptionId === runner.subscriptionId), timeoutMs);
    return { event, delivery, invocations: runner.invocations().filter((r) => r.eventId === event.id) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nk-lambda-runner-'));
    const topology = topologySchema.parse({ realism: { mutatingLatencyMs: 0, eniAttachMs: 50, eniDetachMs: 50 } });
    lab = await startLab({ topology, runDir: dir, prefix: `nkr${randomBytes(2).toString('hex')}-`, dataPlane: 'off' });
    await ensureLeaseTable(lab, TABLE);
  }, 60_000);

  afterAll(async () => {
    try {
      for (const r of runners) await r.close();
      await lab?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('bad options and a bad config name the field, and subscribe nothing', async () => {
    const badSchedule = startLambdaRunner({ lab, config: {}, scheduleEveryMs: 5 });
    await expect(badSchedule).rejects.toThrow(LambdaRunnerOptionError);
    await expect(badSchedule).rejects.toThrow(/^scheduleEveryMs: expected a whole number of ms, at least 100, got 5/);
    await expect(startLambdaRunner({ lab, config: {}, maxAttempts: 0 })).rejects.toThrow(/^maxAttempts:/);
    await expect(startLambdaRunner({ lab, config: {}, detailTypes: ['EC2 Nonsense' as never] })).rejects.toThrow(/^detailTypes\[0\]: unknown detail-type "EC2 Nonsense"/);
    const badConfig = startLambdaRunner({ lab, config: { lease: { ttlMs: 'long' as never } } });
    await expect(badConfig).rejects.toThrow(ConfigError);
    await expect(badConfig).rejects.toThrow(/lease\.ttlMs/);
    expect(lab.events.subscriptions()).toEqual([]);
  });

  it('a handler that throws is answered 500 and the bus delivers again: the retry is a second invocation', async () => {
    const runner = await start({
      createCore: fakeCore((n) => {
        if (n === 1) throw new Error('EC2 said InternalError');
      }),
    });
    const { delivery, invocations } = await deliverOne(runner);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, httpStatus: 200 });
    expect(invocations.map((r) => [r.trigger, r.attempt, r.error])).toEqual([
      ['webhook', 1, 'Error: EC2 said InternalError'],
      ['webhook', 2, undefined],
    ]);
    expect(invocations[1]!.endedAt! >= invocations[1]!.startedAt).toBe(true);
    // Lambda retries an async invocation under the same request id.
    expect(invocations[1]!.requestId).toBe(invocations[0]!.requestId);
  });

  it('after maxAttempts failed invocations the event is discarded: answered 200, not invoked again', async () => {
    const runner = await start({
      maxAttempts: 2,
      createCore: fakeCore(() => {
        throw new Error('always failing');
      }),
    });
    const { delivery, invocations } = await deliverOne(runner);
    // Attempts 1 and 2 invoked and got 500; attempt 3 found the budget spent and got 200.
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, httpStatus: 200 });
    expect(invocations.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('a delivery that times out while its invocation runs is joined: one invocation, the retry gets its answer', async () => {
    // Longer than the bus's 3 s per-attempt timeout: attempt 1 is aborted, attempt 2 (250 ms later) joins.
    const runner = await start({ createCore: fakeCore(() => sleep(4_500)) });
    const { delivery, invocations } = await deliverOne(runner, 20_000);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, httpStatus: 200 });
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.error).toBeUndefined();
  });

  it('the schedule invokes the real core with "Scheduled Event"s against the lab; close() unsubscribes and stops the webhook', async () => {
    const runner = await start({ scheduleEveryMs: 200, detailTypes: ['EC2 Instance-terminate Lifecycle Action'] });
    expect(lab.events.subscriptions().find((s) => s.id === runner.subscriptionId)?.detailTypes).toEqual(['EC2 Instance-terminate Lifecycle Action']);
    const done = await until('two scheduled invocations ended', () => {
      const ended = runner.invocations().filter((r) => r.trigger === 'schedule' && r.endedAt !== undefined);
      return ended.length >= 2 ? ended : undefined;
    }, 15_000);
    for (const r of done) {
      expect(r.detailType).toBe('Scheduled Event');
      expect(r.error).toBeUndefined();
      expect(r.outcome).toMatchObject({ requestId: r.requestId, event: 'schedule' });
    }
    // EMF: one JSON document per line with the CloudWatch metadata.
    expect(runner.metricLines().length).toBeGreaterThan(0);
    expect(JSON.parse(runner.metricLines()[0]!)).toHaveProperty('_aws.CloudWatchMetrics');
    expect(runner.logLines().some((l) => l.includes(done[0]!.requestId))).toBe(true);

    await runner.close();
    await runner.close();
    expect(lab.events.subscriptions().find((s) => s.id === runner.subscriptionId)).toBeUndefined();
    await expect(fetch(runner.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    const count = runner.invocations().length;
    await sleep(500);
    expect(runner.invocations().length).toBe(count);
  });
});
