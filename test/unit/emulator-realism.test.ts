import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import { ApiError } from '../../lab/emulator/errors.js';
import { RealismController, type RealismSettings } from '../../lab/emulator/realism/controller.js';
import { ec2Category, RequestThrottle, type ThrottleSettings } from '../../lab/emulator/realism/throttle.js';
import { TokenBucket } from '../../lab/emulator/realism/token-bucket.js';

const AWS_BUCKETS: ThrottleSettings = {
  enabled: true,
  mutating: { burst: 50, refillPerSecond: 5 },
  nonMutating: { burst: 100, refillPerSecond: 20 },
  unfilteredDescribe: { burst: 50, refillPerSecond: 10 },
};

/** How many takes succeed in a row right now. */
function drain(take: () => boolean, limit = 10_000): number {
  let n = 0;
  while (n < limit && take()) n++;
  return n;
}

describe('TokenBucket', () => {
  it('starts full, refuses past the burst, refills continuously at the rate, caps at the burst', () => {
    const clock = new ManualClock();
    const b = new TokenBucket(clock, { burst: 50, refillPerSecond: 5 });
    expect(drain(() => b.tryTake())).toBe(50);
    clock.advance(199);
    expect(b.tryTake()).toBe(false);
    clock.advance(1);
    expect(b.tryTake()).toBe(true); // 200 ms at 5/s is one token
    expect(b.tryTake()).toBe(false);
    clock.advance(1000);
    expect(drain(() => b.tryTake())).toBe(5);
    clock.advance(60_000);
    expect(b.available()).toBe(50);
  });

  it('a refused take costs nothing', () => {
    const clock = new ManualClock();
    const b = new TokenBucket(clock, { burst: 1, refillPerSecond: 1 });
    b.tryTake();
    for (let i = 0; i < 10; i++) b.tryTake();
    clock.advance(1000);
    expect(b.tryTake()).toBe(true);
  });
});

describe('ec2Category', () => {
  it.each([
    ['ReplaceRoute', true, {}, 'mutating'],
    ['DescribeRouteTables', false, {}, 'nonMutating'],
    ['DescribeInstances', false, {}, 'unfilteredDescribe'],
    ['DescribeInstances', false, { 'Filter.1.Name': 'x', 'Filter.1.Value.1': 'y' }, 'nonMutating'],
    ['DescribeInstances', false, { 'InstanceId.1': 'i-1' }, 'nonMutating'],
    ['DescribeInstances', false, { MaxResults: '5' }, 'nonMutating'],
    ['DescribeNetworkInterfaces', false, {}, 'unfilteredDescribe'],
    ['DescribeInstanceStatus', false, { IncludeAllInstances: 'true' }, 'unfilteredDescribe'],
  ] as const)('%s mutating=%s %j → %s', (action, mutating, params, want) => expect(ec2Category(action, mutating, params)).toBe(want));
});

function throttledAt(throttle: RequestThrottle, action: string, mutating: boolean, params = {}, n = 200): number {
  for (let i = 1; i <= n; i++) {
    try {
      throttle.admit('ec2', action, mutating, params);
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe('RequestLimitExceeded');
      expect((e as ApiError).httpStatus).toBe(503);
      return i;
    }
  }
  return 0;
}

describe('RequestThrottle (EC2 per-action buckets)', () => {
  it('mutating: the 51st call in a burst is refused, then 5 per second', () => {
    const clock = new ManualClock();
    const t = new RequestThrottle(clock, AWS_BUCKETS);
    expect(throttledAt(t, 'ReplaceRoute', true)).toBe(51);
    clock.advance(1000);
    expect(throttledAt(t, 'ReplaceRoute', true)).toBe(6);
  });

  it('non-mutating: 100 then 20 per second; unfiltered DescribeInstances: 50 then 10 per second', () => {
    const clock = new ManualClock();
    const t = new RequestThrottle(clock, AWS_BUCKETS);
    expect(throttledAt(t, 'DescribeRouteTables', false)).toBe(101);
    expect(throttledAt(t, 'DescribeInstances', false)).toBe(51);
    // Filtered DescribeInstances draws from its own, larger bucket.
    expect(throttledAt(t, 'DescribeInstances', false, { 'Filter.1.Name': 'vpc-id' })).toBe(101);
    clock.advance(1000);
    expect(throttledAt(t, 'DescribeRouteTables', false)).toBe(21);
    expect(throttledAt(t, 'DescribeInstances', false)).toBe(11);
  });

  it('each action has its own bucket', () => {
    const t = new RequestThrottle(new ManualClock(), AWS_BUCKETS);
    expect(throttledAt(t, 'ReplaceRoute', true)).toBe(51);
    expect(throttledAt(t, 'CreateRoute', true)).toBe(51);
  });

  it("uncategorized actions keep AWS's own figures (CreateTags 100, StartInstances 5)", () => {
    const t = new RequestThrottle(new ManualClock(), AWS_BUCKETS);
    expect(throttledAt(t, 'CreateTags', true)).toBe(101);
    expect(throttledAt(t, 'StartInstances', true)).toBe(6);
  });

  it('disabled throttling lets everything through; re-enabling starts with full buckets', () => {
    const t = new RequestThrottle(new ManualClock(), { ...AWS_BUCKETS, enabled: false });
    expect(throttledAt(t, 'ReplaceRoute', true, {}, 500)).toBe(0);
    t.configure({ enabled: true, mutating: { burst: 3, refillPerSecond: 1 } });
    expect(throttledAt(t, 'ReplaceRoute', true)).toBe(4);
  });

  it('Auto Scaling is unthrottled unless given a shared bucket, then answers Throttling', () => {
    const t = new RequestThrottle(new ManualClock(), AWS_BUCKETS);
    for (let i = 0; i < 500; i++) t.admit('autoscaling', 'DescribeAutoScalingGroups', false, {});
    t.setAutoScalingBucket({ burst: 2, refillPerSecond: 1 });
    t.admit('autoscaling', 'DescribeAutoScalingGroups', false, {});
    t.admit('autoscaling', 'SetInstanceHealth', true, {});
    expect(() => t.admit('autoscaling', 'DescribeAutoScalingGroups', false, {})).toThrow(expect.objectContaining({ code: 'Throttling' }));
  });

  it('rejects nonsense bucket figures', () => {
    const t = new RequestThrottle(new ManualClock(), AWS_BUCKETS);
    expect(() => t.configure({ mutating: { burst: 0, refillPerSecond: 5 } })).toThrow(RangeError);
    expect(() => t.configure({ mutating: { burst: 5, refillPerSecond: -1 } })).toThrow(RangeError);
  });
});

const SETTINGS: RealismSettings = { mutatingLatencyMs: 150, describeLatencyMs: 0, errorRate: 0, throttling: AWS_BUCKETS };

describe('RealismController', () => {
  const call = (action: string, mutating: boolean) => ({ service: 'ec2' as const, action, mutating, params: {} });

  it('latency: mutating/describe defaults, per-action overrides, removable at run time', () => {
    const r = new RealismController(SETTINGS, { clock: new ManualClock() });
    expect(r.admit(call('ReplaceRoute', true)).delayMs).toBe(150);
    expect(r.admit(call('DescribeRouteTables', false)).delayMs).toBe(0);
    r.setActionLatency('DescribeRouteTables', 40);
    expect(r.admit(call('DescribeRouteTables', false)).delayMs).toBe(40);
    r.setActionLatency('DescribeRouteTables', undefined);
    expect(r.admit(call('DescribeRouteTables', false)).delayMs).toBe(0);
    r.setLatency({ mutatingMs: 10 });
    expect(r.admit(call('ReplaceRoute', true)).delayMs).toBe(10);
    expect(r.status().latency).toEqual({ mutatingMs: 10, describeMs: 0, perAction: {} });
  });

  it('injected errors follow the rate and the random source, with the service code', () => {
    const rolls = [0.05, 0.5, 0.09, 0.95];
    const r = new RealismController(SETTINGS, { clock: new ManualClock(), random: () => rolls.shift()! });
    r.setErrorRate(0.1);
    const outcomes = [1, 2, 3, 4].map(() => r.admit(call('ReplaceRoute', true)).error?.code);
    expect(outcomes).toEqual(['InternalError', undefined, 'InternalError', undefined]);
    r.setErrorRate(1);
    const e = r.admit({ service: 'autoscaling', action: 'DescribeAutoScalingGroups', mutating: false, params: {} }).error!;
    expect([e.code, e.httpStatus]).toEqual(['InternalFailure', 500]);
    r.setErrorRate(0);
    expect(r.admit(call('ReplaceRoute', true)).error).toBeUndefined();
  });

  it('throttling comes first and can be switched at run time', () => {
    const r = new RealismController({ ...SETTINGS, throttling: { ...AWS_BUCKETS, mutating: { burst: 1, refillPerSecond: 1 } } }, { clock: new ManualClock() });
    r.admit(call('ReplaceRoute', true));
    expect(() => r.admit(call('ReplaceRoute', true))).toThrow(expect.objectContaining({ code: 'RequestLimitExceeded' }));
    r.setThrottling({ enabled: false });
    expect(r.admit(call('ReplaceRoute', true)).delayMs).toBe(150);
    expect(r.status().throttling.enabled).toBe(false);
  });

  it('refuses invalid runtime settings and keeps the old ones', () => {
    const r = new RealismController(SETTINGS, { clock: new ManualClock() });
    expect(() => r.setErrorRate(1.5)).toThrow(RangeError);
    expect(() => r.setErrorRate(Number.NaN)).toThrow(RangeError);
    expect(() => r.setActionLatency('ReplaceRoute', -1)).toThrow(RangeError);
    expect(r.status().errorRate).toBe(0);
    expect(r.status().latency.perAction).toEqual({});
  });
});
