// EventBridge events as AWS sends them for EC2 and EC2 Auto Scaling: the same
// envelope (version "0", id, detail-type, source, account, time, region,
// resources, detail) and the same detail keys, so a handler written for AWS
// (natkeeper's lambda/) can be fed the lab's events unchanged.

import { randomUUID } from 'node:crypto';
import type { InstanceStateName, LifecycleTransition } from '../model.js';

export const DETAIL_TYPES = [
  'EC2 Instance State-change Notification',
  'EC2 Spot Instance Interruption Warning',
  'EC2 Instance Rebalance Recommendation',
  'EC2 Instance-launch Lifecycle Action',
  'EC2 Instance-terminate Lifecycle Action',
] as const;

export type DetailType = (typeof DETAIL_TYPES)[number];

export interface InstanceStateChangeDetail {
  'instance-id': string;
  state: InstanceStateName;
}

export type SpotInstanceAction = 'terminate' | 'stop' | 'hibernate';

export interface SpotInterruptionDetail {
  'instance-id': string;
  'instance-action': SpotInstanceAction;
}

export interface RebalanceRecommendationDetail {
  'instance-id': string;
}

export interface LifecycleActionDetail {
  LifecycleActionToken: string;
  AutoScalingGroupName: string;
  LifecycleHookName: string;
  EC2InstanceId: string;
  LifecycleTransition: LifecycleTransition;
  NotificationMetadata?: string;
  /** Launch: "EC2" → "AutoScalingGroup"; terminate: "AutoScalingGroup" → "EC2". */
  Origin: 'EC2' | 'AutoScalingGroup';
  Destination: 'EC2' | 'AutoScalingGroup';
}

export interface DetailOf {
  'EC2 Instance State-change Notification': InstanceStateChangeDetail;
  'EC2 Spot Instance Interruption Warning': SpotInterruptionDetail;
  'EC2 Instance Rebalance Recommendation': RebalanceRecommendationDetail;
  'EC2 Instance-launch Lifecycle Action': LifecycleActionDetail;
  'EC2 Instance-terminate Lifecycle Action': LifecycleActionDetail;
}

export interface LabEvent<T extends DetailType = DetailType> {
  version: '0';
  id: string;
  'detail-type': T;
  source: 'aws.ec2' | 'aws.autoscaling';
  account: string;
  /** ISO 8601 to the second, as EventBridge writes it: 2019-10-02T17:59:30Z. */
  time: string;
  region: string;
  resources: string[];
  detail: DetailOf[T];
}

/** Where an event happened: the store's region and account, and the lab's clock. */
export interface EventOrigin {
  region: string;
  accountId: string;
  now(): number;
}

/** EventBridge and IMDS write times to the second, without milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const instanceArn = (o: EventOrigin, instanceId: string) => `arn:aws:ec2:${o.region}:${o.accountId}:instance/${instanceId}`;

function envelope<T extends DetailType>(
  o: EventOrigin,
  detailType: T,
  source: LabEvent['source'],
  resources: string[],
  detail: DetailOf[T],
): LabEvent<T> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: o.accountId,
    time: isoSeconds(o.now()),
    region: o.region,
    resources,
    detail,
  };
}

export function instanceStateChangeEvent(o: EventOrigin, instanceId: string, state: InstanceStateName) {
  return envelope(o, 'EC2 Instance State-change Notification', 'aws.ec2', [instanceArn(o, instanceId)], {
    'instance-id': instanceId,
    state,
  });
}

export function spotInterruptionEvent(o: EventOrigin, instanceId: string, action: SpotInstanceAction) {
  return envelope(o, 'EC2 Spot Instance Interruption Warning', 'aws.ec2', [instanceArn(o, instanceId)], {
    'instance-id': instanceId,
    'instance-action': action,
  });
}

export function rebalanceRecommendationEvent(o: EventOrigin, instanceId: string) {
  return envelope(o, 'EC2 Instance Rebalance Recommendation', 'aws.ec2', [instanceArn(o, instanceId)], {
    'instance-id': instanceId,
  });
}

export interface LifecycleActionFields {
  token: string;
  autoScalingGroupName: string;
  autoScalingGroupARN: string;
  lifecycleHookName: string;
  instanceId: string;
  transition: LifecycleTransition;
  notificationMetadata?: string;
}

export function lifecycleActionEvent(o: EventOrigin, f: LifecycleActionFields) {
  const launching = f.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING';
  const detail: LifecycleActionDetail = {
    LifecycleActionToken: f.token,
    AutoScalingGroupName: f.autoScalingGroupName,
    LifecycleHookName: f.lifecycleHookName,
    EC2InstanceId: f.instanceId,
    LifecycleTransition: f.transition,
    ...(f.notificationMetadata !== undefined ? { NotificationMetadata: f.notificationMetadata } : {}),
    Origin: launching ? 'EC2' : 'AutoScalingGroup',
    Destination: launching ? 'AutoScalingGroup' : 'EC2',
  };
  return launching
    ? envelope(o, 'EC2 Instance-launch Lifecycle Action', 'aws.autoscaling', [f.autoScalingGroupARN], detail)
    : envelope(o, 'EC2 Instance-terminate Lifecycle Action', 'aws.autoscaling', [f.autoScalingGroupARN], detail);
}

/** The origin of events about a store's resources. */
export function originOf(store: { region: string; accountId: string; clock: { now(): number } }): EventOrigin {
  return { region: store.region, accountId: store.accountId, now: () => store.clock.now() };
}
