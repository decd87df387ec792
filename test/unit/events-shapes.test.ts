import { describe, expect, it } from 'vitest';
import {
  DETAIL_TYPES,
  instanceStateChangeEvent,
  isoSeconds,
  lifecycleActionEvent,
  rebalanceRecommendationEvent,
  spotInterruptionEvent,
  type LabEvent,
} from '../../lab/emulator/events/shapes.js';

const origin = { region: 'us-east-1', accountId: '123456789012', now: () => Date.parse('2024-05-06T07:08:09.123Z') };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The envelope keys of every EventBridge event, in AWS's order. */
const ENVELOPE = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'];

function checkEnvelope(e: LabEvent, detailType: string, source: string) {
  expect(Object.keys(e)).toEqual(ENVELOPE);
  expect(e.version).toBe('0');
  expect(e.id).toMatch(UUID);
  expect(e['detail-type']).toBe(detailType);
  expect(e.source).toBe(source);
  expect(e.account).toBe('123456789012');
  expect(e.region).toBe('us-east-1');
  expect(e.time).toBe('2024-05-06T07:08:09Z');
  // Plain JSON: what is POSTed is what was built.
  expect(JSON.parse(JSON.stringify(e))).toEqual(e);
}

describe('EventBridge event shapes', () => {
  it('EC2 Instance State-change Notification', () => {
    const e = instanceStateChangeEvent(origin, 'i-0abc', 'stopped');
    checkEnvelope(e, 'EC2 Instance State-change Notification', 'aws.ec2');
    expect(e.resources).toEqual(['arn:aws:ec2:us-east-1:123456789012:instance/i-0abc']);
    expect(e.detail).toEqual({ 'instance-id': 'i-0abc', state: 'stopped' });
  });

  it('EC2 Spot Instance Interruption Warning', () => {
    const e = spotInterruptionEvent(origin, 'i-0abc', 'terminate');
    checkEnvelope(e, 'EC2 Spot Instance Interruption Warning', 'aws.ec2');
    expect(e.resources).toEqual(['arn:aws:ec2:us-east-1:123456789012:instance/i-0abc']);
    expect(e.detail).toEqual({ 'instance-id': 'i-0abc', 'instance-action': 'terminate' });
  });

  it('EC2 Instance Rebalance Recommendation', () => {
    const e = rebalanceRecommendationEvent(origin, 'i-0abc');
    checkEnvelope(e, 'EC2 Instance Rebalance Recommendation', 'aws.ec2');
    expect(e.detail).toEqual({ 'instance-id': 'i-0abc' });
  });

  it('EC2 Instance-launch Lifecycle Action', () => {
    const e = lifecycleActionEvent(origin, {
      token: '87654321-4321-4321-4321-210987654321',
      autoScalingGroupName: 'my-asg',
      autoScalingGroupARN: 'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/my-asg',
      lifecycleHookName: 'my-hook',
      instanceId: 'i-0abc',
      transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      notificationMetadata: 'extra',
    });
    checkEnvelope(e, 'EC2 Instance-launch Lifecycle Action', 'aws.autoscaling');
    expect(e.resources).toEqual(['arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/my-asg']);
    expect(Object.keys(e.detail)).toEqual([
      'LifecycleActionToken',
      'AutoScalingGroupName',
      'LifecycleHookName',
      'EC2InstanceId',
      'LifecycleTransition',
      'NotificationMetadata',
      'Origin',
      'Destination',
    ]);
    expect(e.detail).toMatchObject({ Origin: 'EC2', Destination: 'AutoScalingGroup', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
  });

  it('EC2 Instance-terminate Lifecycle Action (no metadata: no key)', () => {
    const e = lifecycleActionEvent(origin, {
      token: 't',
      autoScalingGroupName: 'my-asg',
      autoScalingGroupARN: 'arn',
      lifecycleHookName: 'h',
      instanceId: 'i-0abc',
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
    checkEnvelope(e, 'EC2 Instance-terminate Lifecycle Action', 'aws.autoscaling');
    expect(Object.keys(e.detail)).not.toContain('NotificationMetadata');
    expect(e.detail).toMatchObject({ Origin: 'AutoScalingGroup', Destination: 'EC2', EC2InstanceId: 'i-0abc' });
  });

  it('every event gets its own id; the detail-type list is complete', () => {
    const ids = new Set(Array.from({ length: 50 }, () => rebalanceRecommendationEvent(origin, 'i-1').id));
    expect(ids.size).toBe(50);
    expect(DETAIL_TYPES).toHaveLength(5);
  });

  it('writes times to the second', () => {
    expect(isoSeconds(Date.parse('2017-09-18T08:22:00.999Z'))).toBe('2017-09-18T08:22:00Z');
  });
});
