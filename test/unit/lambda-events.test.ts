// parseEvent: every event kind in AWS's shapes (the lab's shapes.ts builds them), and
// malformed input ignored with a reason naming the field — never thrown.
import { describe, expect, it } from 'vitest';
import {
  instanceStateChangeEvent,
  lifecycleActionEvent,
  rebalanceRecommendationEvent,
  spotInterruptionEvent,
} from '../../lab/emulator/events/shapes.js';
import { parseEvent } from '../../src/lambda/events.js';

const T = Date.parse('2026-03-04T05:06:07Z');
const origin = { region: 'eu-west-1', accountId: '123456789012', now: () => T };
const ID = 'i-0123456789abcdef0';
const lifecycle = (transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING') =>
  lifecycleActionEvent(origin, {
    token: '87654321-4321-4321-4321-210987654321',
    autoScalingGroupName: 'natkeeper-a',
    autoScalingGroupARN: 'arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/natkeeper-a',
    lifecycleHookName: 'nat-drain',
    instanceId: ID,
    transition,
    notificationMetadata: 'x',
  });
const schedule = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-03-04T05:06:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/natkeeper-every-minute'],
  detail: {},
};

describe('parseEvent: the events handled', () => {
  it('EC2 instance state change', () => {
    for (const state of ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const)
      expect(parseEvent(instanceStateChangeEvent(origin, ID, state))).toMatchObject({ kind: 'instance-state', instanceId: ID, state, time: T });
  });
  it('Spot interruption warning, every instance action', () => {
    for (const action of ['terminate', 'stop', 'hibernate'] as const)
      expect(parseEvent(spotInterruptionEvent(origin, ID, action))).toMatchObject({ kind: 'spot-interruption', instanceId: ID, action, time: T });
  });
  it('rebalance recommendation', () => {
    expect(parseEvent(rebalanceRecommendationEvent(origin, ID))).toMatchObject({ kind: 'rebalance', instanceId: ID, time: T });
  });
  it('launch and terminate lifecycle actions, with token, group and hook', () => {
    const fields = { instanceId: ID, groupName: 'natkeeper-a', hookName: 'nat-drain', token: '87654321-4321-4321-4321-210987654321', time: T };
    expect(parseEvent(lifecycle('autoscaling:EC2_INSTANCE_LAUNCHING'))).toEqual({ kind: 'lifecycle-launch', id: expect.any(String), ...fields });
    expect(parseEvent(lifecycle('autoscaling:EC2_INSTANCE_TERMINATING'))).toEqual({ kind: 'lifecycle-terminate', id: expect.any(String), ...fields });
  });
  it('the scheduled event', () => {
    expect(parseEvent(schedule)).toEqual({ kind: 'schedule', id: schedule.id, time: Date.parse(schedule.time) });
  });
  it('extra keys AWS may add are accepted; a time with milliseconds or an offset too', () => {
    const e = { ...spotInterruptionEvent(origin, ID, 'stop'), extra: 1, detail: { 'instance-id': ID, 'instance-action': 'stop', more: 'x' } };
    expect(parseEvent(e)).toMatchObject({ kind: 'spot-interruption' });
    expect(parseEvent({ ...schedule, time: '2026-03-04T05:06:00.123+01:00' })).toMatchObject({ kind: 'schedule', time: Date.parse('2026-03-04T04:06:00.123Z') });
  });
});

describe('parseEvent: bad input is ignored with a reason naming the field', () => {
  const state = instanceStateChangeEvent(origin, ID, 'stopped');
  const cases: [string, unknown, string | RegExp][] = [
    ['undefined', undefined, 'expected an EventBridge event (a JSON object), got undefined'],
    ['null', null, /got null$/],
    ['a string', 'hello', /got string$/],
    ['a number', 42, /got number$/],
    ['an array', [state], /got an array$/],
    ['no detail-type', { ...state, 'detail-type': undefined }, /^detail-type: expected a string/],
    ['detail-type not a string', { ...state, 'detail-type': 7 }, /^detail-type: expected a string/],
    ['no time', { ...state, time: undefined }, /^time: expected an ISO 8601 time/],
    ['a time that is no date', { ...state, time: '2026-13-45T99:00:00Z' }, /^time: expected an ISO 8601 time/],
    ['a time as a number', { ...state, time: 1700000000 }, /^time: expected an ISO 8601 time/],
    ['unknown detail-type', { ...state, 'detail-type': 'Foo' }, 'unknown detail-type "Foo" from "aws.ec2"'],
    ['a detail-type from the wrong source', { ...state, source: 'aws.autoscaling' }, 'unknown detail-type "EC2 Instance State-change Notification" from "aws.autoscaling"'],
    ['a huge detail-type is cut short', { ...state, 'detail-type': 'x'.repeat(1_000_000) }, /^unknown detail-type "x{64}…" from "aws.ec2"$/],
    ['no detail', { ...state, detail: undefined }, /^detail: expected an object/],
    ['detail a string', { ...state, detail: 'i-0123' }, /^detail: expected an object/],
    ['instance id missing', { ...state, detail: { state: 'stopped' } }, 'detail.instance-id: expected an instance id like i-0123456789abcdef0'],
    ['instance id malformed', { ...state, detail: { 'instance-id': 'vol-0123456789abcdef0', state: 'stopped' } }, 'detail.instance-id: expected an instance id like i-0123456789abcdef0'],
    ['instance id huge', { ...state, detail: { 'instance-id': `i-${'0'.repeat(100_000)}`, state: 'stopped' } }, 'detail.instance-id: expected an instance id like i-0123456789abcdef0'],
    ['state unknown', { ...state, detail: { 'instance-id': ID, state: 'melted' } }, /^detail\.state: expected one of pending, running/],
    ['spot action unknown', { ...spotInterruptionEvent(origin, ID, 'stop'), detail: { 'instance-id': ID, 'instance-action': 'explode' } }, 'detail.instance-action: expected terminate, stop or hibernate'],
    ['lifecycle without token', { ...lifecycle('autoscaling:EC2_INSTANCE_TERMINATING'), detail: { ...lifecycle('autoscaling:EC2_INSTANCE_TERMINATING').detail, LifecycleActionToken: undefined } }, /^detail\.LifecycleActionToken: expected a lifecycle action token/],
    ['lifecycle with an empty group name', { ...lifecycle('autoscaling:EC2_INSTANCE_TERMINATING'), detail: { ...lifecycle('autoscaling:EC2_INSTANCE_TERMINATING').detail, AutoScalingGroupName: '' } }, /^detail\.AutoScalingGroupName: expected an Auto Scaling group name/],
    ['lifecycle transition that contradicts the detail-type', { ...lifecycle('autoscaling:EC2_INSTANCE_TERMINATING'), 'detail-type': 'EC2 Instance-launch Lifecycle Action' }, 'detail.LifecycleTransition: expected autoscaling:EC2_INSTANCE_LAUNCHING'],
    ['lifecycle instance id a number', { ...lifecycle('autoscaling:EC2_INSTANCE_LAUNCHING'), detail: { ...lifecycle('autoscaling:EC2_INSTANCE_LAUNCHING').detail, EC2InstanceId: 12 } }, 'detail.EC2InstanceId: expected an instance id like i-0123456789abcdef0'],
  ];
  it.each(cases)('%s', (_name, input, reason) => {
    const r = parseEvent(input);
    expect(r.kind).toBe('ignored');
    if (r.kind !== 'ignored') return;
    if (typeof reason === 'string') expect(r.reason).toBe(reason);
    else expect(r.reason).toMatch(reason);
    expect(r.reason.length).toBeLessThan(300);
  });

  it('an object whose getters throw is ignored, not thrown', () => {
    const evil = new Proxy({}, { get: () => { throw new Error('boom'); }, has: () => true, ownKeys: () => ['detail-type'], getOwnPropertyDescriptor: () => ({ configurable: true, enumerable: true, value: 1 }) });
    const r = parseEvent(evil);
    expect(r).toMatchObject({ kind: 'ignored' });
  });

  it('an inherited detail-type name (toString) is not a handler', () => {
    expect(parseEvent({ ...state, 'detail-type': 'toString' })).toEqual({ kind: 'ignored', reason: 'unknown detail-type "toString" from "aws.ec2"' });
  });
});
