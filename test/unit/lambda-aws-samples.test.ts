// parseEvent on events shaped exactly like the samples in AWS's documentation (EC2 user
// guide: state change, Spot interruption warning, rebalance recommendation; EC2 Auto
// Scaling event reference and warm pool events: lifecycle actions with
// NotificationMetadata, Origin and Destination; EventBridge: the scheduled event). Written
// out literally rather than built by the lab's shapes.ts, so a drift of the lab's shapes
// from AWS's cannot hide a parser that rejects the real thing. Placeholder values of the
// docs ("yyyy-mm-dd…") are replaced by real-looking ones.
import { describe, expect, it } from 'vitest';
import { parseEvent, TEST_NOTIFICATION } from '../../src/lambda/events.js';

const ID = 'i-1234567890abcdef0';
const envelope = (detailType: string, source: string, resources: string[], detail: unknown, time = '2026-03-04T05:06:07Z') => ({
  version: '0',
  id: '12345678-1234-1234-1234-123456789012',
  'detail-type': detailType,
  source,
  account: '123456789012',
  time,
  region: 'us-west-2',
  resources,
  detail,
});
const instanceArn = `arn:aws:ec2:us-west-2:123456789012:instance/${ID}`;
const lifecycleDetail = (transition: string, extra: Record<string, unknown> = {}) => ({
  LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
  AutoScalingGroupName: 'my-asg',
  LifecycleHookName: 'my-lifecycle-hook',
  EC2InstanceId: ID,
  LifecycleTransition: transition,
  ...extra,
});
const T = Date.parse('2026-03-04T05:06:07Z');

describe('parseEvent: AWS documentation samples', () => {
  it('EC2 Instance State-change Notification', () => {
    const e = envelope('EC2 Instance State-change Notification', 'aws.ec2', [instanceArn], { 'instance-id': ID, state: 'shutting-down' });
    expect(parseEvent(e)).toEqual({ kind: 'instance-state', id: e.id, time: T, instanceId: ID, state: 'shutting-down' });
  });

  it('EC2 Spot Instance Interruption Warning', () => {
    const e = envelope('EC2 Spot Instance Interruption Warning', 'aws.ec2', [instanceArn], { 'instance-id': ID, 'instance-action': 'terminate' });
    expect(parseEvent(e)).toEqual({ kind: 'spot-interruption', id: e.id, time: T, instanceId: ID, action: 'terminate' });
  });

  it('EC2 Instance Rebalance Recommendation', () => {
    const e = envelope('EC2 Instance Rebalance Recommendation', 'aws.ec2', [instanceArn], { 'instance-id': ID });
    expect(parseEvent(e)).toEqual({ kind: 'rebalance', id: e.id, time: T, instanceId: ID });
  });

  const groupArn = groupArnOf('my-asg');
  const lifecycle = { instanceId: ID, groupName: 'my-asg', hookName: 'my-lifecycle-hook', token: '87654321-4321-4321-4321-210987654321' };

  it('EC2 Instance-launch Lifecycle Action (event reference: NotificationMetadata, Origin EC2 → AutoScalingGroup)', () => {
    const d = lifecycleDetail('autoscaling:EC2_INSTANCE_LAUNCHING', { NotificationMetadata: 'additional-info', Origin: 'EC2', Destination: 'AutoScalingGroup' });
    expect(parseEvent(envelope('EC2 Instance-launch Lifecycle Action', 'aws.autoscaling', [groupArn], d))).toEqual({ kind: 'lifecycle-launch', id: expect.any(String), time: T, ...lifecycle });
  });

  it('EC2 Instance-terminate Lifecycle Action, without the newer fields (older sample) and with them', () => {
    const bare = lifecycleDetail('autoscaling:EC2_INSTANCE_TERMINATING');
    const full = lifecycleDetail('autoscaling:EC2_INSTANCE_TERMINATING', { NotificationMetadata: 'additional-info', Origin: 'AutoScalingGroup', Destination: 'EC2' });
    for (const d of [bare, full])
      expect(parseEvent(envelope('EC2 Instance-terminate Lifecycle Action', 'aws.autoscaling', [groupArn], d))).toEqual({ kind: 'lifecycle-terminate', id: expect.any(String), time: T, ...lifecycle });
  });

  it('a warm pool lifecycle action: millisecond time, a token that is no strict UUID, Destination WarmPool', () => {
    const d = lifecycleDetail('autoscaling:EC2_INSTANCE_LAUNCHING', { LifecycleActionToken: '71514b9d-6a40-4b26-8523-05e7eEXAMPLE', Origin: 'EC2', Destination: 'WarmPool' });
    const e = envelope('EC2 Instance-launch Lifecycle Action', 'aws.autoscaling', [groupArn], d, '2021-01-13T00:12:37.214Z');
    expect(parseEvent(e)).toMatchObject({ kind: 'lifecycle-launch', token: '71514b9d-6a40-4b26-8523-05e7eEXAMPLE', time: Date.parse('2021-01-13T00:12:37.214Z') });
  });

  it('Scheduled Event', () => {
    const e = envelope('Scheduled Event', 'aws.events', ['arn:aws:events:us-west-2:123456789012:rule/natkeeper-every-minute'], {});
    expect(parseEvent(e)).toEqual({ kind: 'schedule', id: e.id, time: T });
  });

  it('fields AWS may add later, at the top and in the detail, are tolerated', () => {
    const e = { ...envelope('EC2 Instance State-change Notification', 'aws.ec2', [instanceArn], { 'instance-id': ID, state: 'stopped', 'state-reason': { code: 'Client.UserInitiatedShutdown' } }), 'replay-name': 'r', traceHeader: 'x' };
    expect(parseEvent(e)).toMatchObject({ kind: 'instance-state', state: 'stopped' });
  });
});

describe("parseEvent: Auto Scaling's test notification", () => {
  // What Auto Scaling sends to a hook's notification target when it is set up: no action.
  const testDetail = {
    AccountId: '123456789012',
    RequestId: '0d1f8d7c-0000-4000-8000-000000000000',
    AutoScalingGroupARN: groupArnOf('my-asg'),
    AutoScalingGroupName: 'my-asg',
    Service: 'AWS Auto Scaling',
    Event: TEST_NOTIFICATION,
    Time: '2026-03-04T05:06:07.000Z',
  };
  it.each([
    ['named by Event', testDetail],
    ['named by LifecycleTransition', lifecycleDetail(TEST_NOTIFICATION)],
  ])('%s: ignored as a test notification, not as a malformed action', (_n, detail) => {
    for (const type of ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'])
      expect(parseEvent(envelope(type, 'aws.autoscaling', [], detail))).toEqual({ kind: 'ignored', reason: `detail: an Auto Scaling test notification (${TEST_NOTIFICATION}), no lifecycle action` });
  });
});

function groupArnOf(name: string): string {
  return `arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:4a3b2c1d-0000-4000-8000-000000000000:autoScalingGroupName/${name}`;
}
