// The Lambda never throws on bad input and never spends an AWS call or the lease on it:
// a few thousand random and hostile values (seeded, so a failure replays) go through
// parseEvent and the core with a fake client that records every call. Three sources:
// random JSON; real-shaped events (the lab's AWS shapes) with one required field deleted,
// given a wrong type, or an impossible string, plus extra keys AWS might add; and
// hand-picked hostile values (throwing proxies, deep nesting, __proto__ keys, huge input).
import { describe, expect, it } from 'vitest';
import { instanceStateChangeEvent, lifecycleActionEvent, rebalanceRecommendationEvent, spotInterruptionEvent } from '../../lab/emulator/events/shapes.js';
import { scheduledEvent } from '../../lab/lambda-runner.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { createLambdaCore } from '../../src/lambda/core.js';
import { parseEvent } from '../../src/lambda/events.js';
import { ManualClock } from '../../src/lease/clock.js';
import { MemoryLeaseStore } from '../../src/lease/memory.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { seeded } from '../support/prng.js';

const RANDOM_JSON = 1_500;
const MUTATED = 1_500;

const rand = seeded(0x6e6b6c);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

/** Keys the parser reads, and keys that attack objects. */
const KEYS = ['detail-type', 'source', 'time', 'detail', 'id', 'instance-id', 'state', 'instance-action', 'EC2InstanceId', 'LifecycleTransition', 'LifecycleActionToken', '__proto__', 'constructor', 'prototype', 'toString'];
const CHARS = ['a', 'Z', '0', '-', ':', ' ', '\u0000', '\n', '"', '\\', '\u00e9', '\ud800', '\udfff', '\u202e', '😀', '%s', '${x}'];
const randomString = () => Array.from({ length: int(24) }, () => pick(CHARS)).join('');

function randomJson(depth: number): unknown {
  switch (int(depth > 0 ? 8 : 6)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -0, 1, -1, 1e308, -1e308, 2 ** 53, 0.5, rand() * 1e12]);
    case 3:
    case 4:
      return randomString();
    case 5:
      return pick(['', 'x'.repeat(10_000), '2026-01-01T00:00:00Z', 'aws.ec2', 'i-0123456789abcdef0']);
    case 6:
      return Array.from({ length: int(5) }, () => randomJson(depth - 1));
    default: {
      // Through JSON.parse, as Lambda builds events: a "__proto__" key stays an own key.
      const o: Record<string, unknown> = {};
      for (let i = int(6); i > 0; i--) o[rand() < 0.7 ? pick(KEYS) : randomString()] = randomJson(depth - 1);
      return JSON.parse(JSON.stringify(o)) as unknown;
    }
  }
}

const origin = { region: 'eu-west-1', accountId: '123456789012', now: () => Date.parse('2026-01-01T00:00:00Z') };
const ID = 'i-0123456789abcdef0';
const lifecycle = (transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING') =>
  lifecycleActionEvent(origin, { token: '87654321-4321-4321-4321-210987654321', autoScalingGroupName: 'natkeeper-a', autoScalingGroupARN: 'arn:x', lifecycleHookName: 'natkeeper-terminate', instanceId: ID, transition });
const LIFECYCLE_KEYS = ['LifecycleActionToken', 'AutoScalingGroupName', 'LifecycleHookName', 'EC2InstanceId', 'LifecycleTransition'];
/** Valid events and the paths the parser requires in each (the schedule's detail is free). */
const SEEDS: { event: Record<string, unknown>; required: string[][] }[] = [
  { event: instanceStateChangeEvent(origin, ID, 'stopped'), required: [['detail'], ['detail', 'instance-id'], ['detail', 'state']] },
  { event: spotInterruptionEvent(origin, ID, 'terminate'), required: [['detail'], ['detail', 'instance-id'], ['detail', 'instance-action']] },
  { event: rebalanceRecommendationEvent(origin, ID), required: [['detail'], ['detail', 'instance-id']] },
  { event: lifecycle('autoscaling:EC2_INSTANCE_LAUNCHING'), required: [['detail'], ...LIFECYCLE_KEYS.map((k) => ['detail', k])] },
  { event: lifecycle('autoscaling:EC2_INSTANCE_TERMINATING'), required: [['detail'], ...LIFECYCLE_KEYS.map((k) => ['detail', k])] },
  { event: scheduledEvent({ region: 'eu-west-1', account: '123456789012', ruleName: 'r', now: origin.now() }), required: [] },
].map((s) => ({ event: s.event as unknown as Record<string, unknown>, required: [['detail-type'], ['source'], ['time'], ...s.required] }));

/** Values no field the parser reads accepts: wrong types, the empty string, an over-long string. */
const NEVER_VALID: unknown[] = [null, 0, 1, true, false, [], ['x'], {}, { a: 1 }, '', 'x'.repeat(300)];

/** A seed with one required field deleted or made invalid, and random extra keys. */
function mutated(): unknown {
  const seed = pick(SEEDS);
  const event = structuredClone(seed.event);
  for (let i = int(3); i > 0; i--) event[randomString() || 'extra'] = randomJson(2);
  const path = pick(seed.required);
  const parent = path.length === 2 ? (event['detail'] as Record<string, unknown>) : event;
  const key = path[path.length - 1]!;
  if (rand() < 0.3) delete parent[key];
  else parent[key] = structuredClone(pick(NEVER_VALID));
  return event;
}

function deep(levels: number): unknown {
  let v: unknown = {};
  for (let i = 0; i < levels; i++) v = { detail: v, 'detail-type': [v] };
  return v;
}

const valid = SEEDS[0]!.event;
const HOSTILE: unknown[] = [
  undefined,
  Symbol('x'),
  10n,
  () => valid,
  new Date(),
  new Map([['detail-type', 'Scheduled Event']]),
  Object.freeze({ ...valid, time: 'now' }),
  deep(5_000),
  { ...valid, detail: deep(5_000), time: 12 },
  JSON.parse(`{"__proto__": ${JSON.stringify(SEEDS[5]!.event)}}`),
  { ...valid, 'detail-type': 'x'.repeat(1_000_000) },
  Array.from({ length: 100_000 }, () => valid),
  new Proxy({}, { get: () => { throw new Error('getter'); }, ownKeys: () => { throw new Error('keys'); } }),
  new Proxy({ ...valid }, { get: (t, k) => (k === 'detail' ? (() => { throw new Error('detail getter'); })() : (t as Record<PropertyKey, unknown>)[k]) }),
  Object.defineProperty({ ...valid }, 'time', { get: () => { throw new Error('time getter'); }, enumerable: true }),
];

const values: unknown[] = [
  ...Array.from({ length: RANDOM_JSON }, () => randomJson(4)),
  ...Array.from({ length: MUTATED }, mutated),
  ...HOSTILE,
];

describe('fuzz: bad input through parseEvent and the core', () => {
  it('the seeds themselves are valid (so each mutation is what makes the input bad)', () => {
    for (const s of SEEDS) expect(parseEvent(s.event).kind).not.toBe('ignored');
  });

  it(`${values.length} values: parseEvent never throws and ignores each with a short reason`, () => {
    for (const [i, v] of values.entries()) {
      const r = parseEvent(v);
      expect(r.kind, `value #${i}`).toBe('ignored');
      if (r.kind === 'ignored') {
        expect(r.reason.length, `value #${i}`).toBeGreaterThan(0);
        expect(r.reason.length, `value #${i}`).toBeLessThan(300);
      }
    }
  });

  it(`${values.length} values: the core never throws, makes no AWS call, takes no lease, emits valid EMF`, async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:05Z'));
    const store = new MemoryLeaseStore({ clock });
    const calls: unknown[] = [];
    const client = { send: async (cmd: unknown) => void calls.push(cmd) };
    const emf: string[] = [];
    const config = parseAgentConfig(JSON.stringify({ controller: { vpcId: 'vpc-0123456789abcdef0' } }), 'test');
    const core = createLambdaCore({ config, ec2: client as never, autoscaling: client as never, leaseStore: store, holder: 'lambda:fuzz', clock, logger: createLogger({ write: () => {} }), emit: (l) => emf.push(l) });
    for (const [i, v] of values.entries()) {
      const out = await core(v, `fuzz-${i}`);
      expect(out.event, `value #${i}`).toBe('ignored');
    }
    expect(calls).toEqual([]);
    expect(await store.currentToken()).toBe(0);
    expect(emf).toHaveLength(values.length);
    for (const line of emf) expect(JSON.parse(line)).toHaveProperty('_aws.CloudWatchMetrics');
    // Nothing leaked onto Object.prototype through a "__proto__" key.
    expect(({} as Record<string, unknown>)['detail-type']).toBeUndefined();
  });
});
