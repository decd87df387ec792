// EC2 throttling as an SDK client meets it: AWS's token buckets on a manual
// clock, so "a burst of 60" and "5 per second" are exact, not timing-dependent.
import { DescribeInstancesCommand, DescribeRouteTablesCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';

let lab: ApiLab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** Sends `n` calls one after the other; the outcome of each: "ok" or the error code, with its HTTP status. */
async function burst(n: number, send: () => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await send();
      out.push('ok');
    } catch (e) {
      const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
      out.push(`${err.name}/${err.$metadata?.httpStatusCode}`);
    }
  }
  return out;
}

const THROTTLED = 'RequestLimitExceeded/503';

async function throttledLab(throttling: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  lab = await startApiLab({ clock, topology: { realism: { throttling } } });
  const rtb = lab.manifest.zones[0]!.privateRouteTableIds[0]!;
  const target = lab.manifest.zones[0]!.floatingEniId!;
  const replace = () => lab!.ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: target }));
  return { clock, replace };
}

describe('EC2 throttling (AWS token buckets)', () => {
  it('a burst of 60 mutating calls: 50 succeed, RequestLimitExceeded (503) from the 51st', async () => {
    const { replace } = await throttledLab();
    const outcomes = await burst(60, replace);
    expect(outcomes.slice(0, 50)).toEqual(Array(50).fill('ok'));
    expect(outcomes.slice(50)).toEqual(Array(10).fill(THROTTLED));
  });

  it('the mutating bucket refills at 5 per second', async () => {
    const { clock, replace } = await throttledLab();
    await burst(50, replace);
    expect(await burst(1, replace)).toEqual([THROTTLED]);
    clock.advance(1000);
    expect(await burst(6, replace)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', THROTTLED]);
    clock.advance(199);
    expect(await burst(1, replace)).toEqual([THROTTLED]);
    clock.advance(1);
    expect(await burst(2, replace)).toEqual(['ok', THROTTLED]);
    clock.advance(3_000);
    expect(await burst(16, replace)).toEqual([...Array(15).fill('ok'), THROTTLED]);
  });

  it('throttled calls change nothing', async () => {
    const { replace } = await throttledLab();
    await burst(50, replace);
    const rtb = lab!.manifest.zones[0]!.privateRouteTableIds[0]!;
    const before = lab!.store.routeTable(rtb);
    expect(await burst(5, replace)).toEqual(Array(5).fill(THROTTLED));
    expect(lab!.store.routeTable(rtb)).toBe(before);
  });

  it('non-mutating calls have their own bucket: 100 burst, 20 per second; ReplaceRoute is unaffected', async () => {
    const { clock, replace } = await throttledLab();
    const describe = () => lab!.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5 }));
    const outcomes = await burst(101, describe);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(100);
    expect(outcomes[100]).toBe(THROTTLED);
    expect(await burst(1, replace)).toEqual(['ok']);
    clock.advance(1000);
    expect((await burst(21, describe)).filter((o) => o === 'ok')).toHaveLength(20);
  });

  it('unfiltered DescribeInstances uses the smaller bucket (50, 10 per second); a filtered call does not', async () => {
    await throttledLab();
    const unfiltered = () => lab!.ec2.send(new DescribeInstancesCommand({}));
    const filtered = () => lab!.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }));
    const outcomes = await burst(51, unfiltered);
    expect(outcomes.lastIndexOf('ok')).toBe(49);
    expect(outcomes[50]).toBe(THROTTLED);
    expect(await burst(3, filtered)).toEqual(['ok', 'ok', 'ok']);
  });

  it('smaller buckets from the topology apply', async () => {
    const { replace } = await throttledLab({ mutating: { burst: 3, refillPerSecond: 1 } });
    expect(await burst(4, replace)).toEqual(['ok', 'ok', 'ok', THROTTLED]);
  });

  it('throttling off in the topology, or switched off at run time, lets every call through', async () => {
    const { replace } = await throttledLab({ enabled: false });
    expect((await burst(120, replace)).every((o) => o === 'ok')).toBe(true);
    lab!.api.realism.setThrottling({ enabled: true });
    expect((await burst(51, replace))[50]).toBe(THROTTLED);
    lab!.api.realism.setThrottling({ enabled: false });
    expect(await burst(3, replace)).toEqual(['ok', 'ok', 'ok']);
  });
});
