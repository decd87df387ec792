// The EventBridge events the Lambda handles, validated with zod: parseEvent(unknown)
// never throws; it returns one of the known events, or { kind: 'ignored', reason } naming
// the field that is wrong. Shapes are AWS's (and the lab's: lab/emulator/events/shapes.ts):
// the envelope { version, id, detail-type, source, account, time, region, resources,
// detail }. Unknown extra keys are allowed (AWS adds fields over time: lifecycle actions
// gained NotificationMetadata, Origin and Destination); the ones used are checked.
// Auto Scaling's test notification (sent when a hook's notification target is set up)
// carries no lifecycle action: it is ignored by name, not as a malformed action.
import { z } from 'zod';
import { formatPath } from '../config/errors.js';
import { EC2_STATES, type Ec2State } from '../domain/signals.js';

interface Base {
  /** The event's id (envelope `id`), for logs. */
  id: string;
  /** The event's `time`, epoch ms. */
  time: number;
}
export type InstanceStateEvent = Base & { kind: 'instance-state'; instanceId: string; state: Ec2State };
export type SpotInterruptionEvent = Base & { kind: 'spot-interruption'; instanceId: string; action: 'terminate' | 'stop' | 'hibernate' };
export type RebalanceEvent = Base & { kind: 'rebalance'; instanceId: string };
export interface LifecycleFields {
  instanceId: string;
  groupName: string;
  hookName: string;
  token: string;
}
export type LifecycleLaunchEvent = Base & LifecycleFields & { kind: 'lifecycle-launch' };
export type LifecycleTerminateEvent = Base & LifecycleFields & { kind: 'lifecycle-terminate' };
export type ScheduleEvent = Base & { kind: 'schedule' };
export interface IgnoredEvent {
  kind: 'ignored';
  reason: string;
}

export type HandledEvent = InstanceStateEvent | SpotInterruptionEvent | RebalanceEvent | LifecycleLaunchEvent | LifecycleTerminateEvent | ScheduleEvent;
export type LambdaEvent = HandledEvent | IgnoredEvent;

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const instanceId = () => z.string({ error: 'expected an instance id like i-0123456789abcdef0' }).regex(INSTANCE_ID, { error: 'expected an instance id like i-0123456789abcdef0' });
/** Auto Scaling names: 1-255 characters (group and hook names; tokens are UUIDs, 36). */
const asgName = (what: string) => z.string({ error: `expected ${what}` }).min(1, `expected ${what}`).max(255, `expected ${what} of at most 255 characters`);

const envelope = z.object({
  'detail-type': z.string({ error: 'expected a string' }),
  source: z.string({ error: 'expected a string' }),
  id: z.string({ error: 'expected a string' }).max(256, 'expected at most 256 characters').optional(),
  time: z
    .string({ error: 'expected an ISO 8601 time like 2026-01-02T03:04:05Z' })
    .max(64, 'expected an ISO 8601 time like 2026-01-02T03:04:05Z')
    .refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && Number.isFinite(Date.parse(s)), {
      error: 'expected an ISO 8601 time like 2026-01-02T03:04:05Z',
    }),
  detail: z.unknown(),
});

const lifecycleDetail = (transition: string) =>
  z.object({
    LifecycleActionToken: asgName('a lifecycle action token'),
    AutoScalingGroupName: asgName('an Auto Scaling group name'),
    LifecycleHookName: asgName('a lifecycle hook name'),
    EC2InstanceId: instanceId(),
    LifecycleTransition: z.literal(transition, { error: `expected ${transition}` }),
  });

const detailObject = <T extends z.ZodRawShape>(shape: T) => z.object(shape, { error: 'expected an object' });

/** What Auto Scaling sends instead of a lifecycle action to test a hook's notification target. */
export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';

/** A lifecycle detail that is Auto Scaling's test notification (`Event`, or the transition, names it). */
function isTestNotification(detail: unknown): boolean {
  if (typeof detail !== 'object' || detail === null) return false;
  const d = detail as Record<string, unknown>;
  return d['Event'] === TEST_NOTIFICATION || d['LifecycleTransition'] === TEST_NOTIFICATION;
}

/** (source, detail-type) → the detail's schema and how to build the event from it. */
const HANDLERS: Record<string, { source: string; detail: z.ZodType; build: (d: never, base: Base) => HandledEvent }> = {
  'EC2 Instance State-change Notification': {
    source: 'aws.ec2',
    detail: detailObject({ 'instance-id': instanceId(), state: z.enum(EC2_STATES, { error: `expected one of ${EC2_STATES.join(', ')}` }) }),
    build: (d: { 'instance-id': string; state: Ec2State }, b) => ({ ...b, kind: 'instance-state', instanceId: d['instance-id'], state: d.state }),
  },
  'EC2 Spot Instance Interruption Warning': {
    source: 'aws.ec2',
    detail: detailObject({ 'instance-id': instanceId(), 'instance-action': z.enum(['terminate', 'stop', 'hibernate'], { error: 'expected terminate, stop or hibernate' }) }),
    build: (d: { 'instance-id': string; 'instance-action': 'terminate' | 'stop' | 'hibernate' }, b) => ({ ...b, kind: 'spot-interruption', instanceId: d['instance-id'], action: d['instance-action'] }),
  },
  'EC2 Instance Rebalance Recommendation': {
    source: 'aws.ec2',
    detail: detailObject({ 'instance-id': instanceId() }),
    build: (d: { 'instance-id': string }, b) => ({ ...b, kind: 'rebalance', instanceId: d['instance-id'] }),
  },
  'EC2 Instance-launch Lifecycle Action': {
    source: 'aws.autoscaling',
    detail: lifecycleDetail('autoscaling:EC2_INSTANCE_LAUNCHING'),
    build: (d: LifecycleDetail, b) => ({ ...b, kind: 'lifecycle-launch', ...lifecycleFields(d) }),
  },
  'EC2 Instance-terminate Lifecycle Action': {
    source: 'aws.autoscaling',
    detail: lifecycleDetail('autoscaling:EC2_INSTANCE_TERMINATING'),
    build: (d: LifecycleDetail, b) => ({ ...b, kind: 'lifecycle-terminate', ...lifecycleFields(d) }),
  },
  'Scheduled Event': {
    source: 'aws.events',
    detail: z.unknown(),
    build: (_d, b) => ({ ...b, kind: 'schedule' }),
  },
};

type LifecycleDetail = z.output<ReturnType<typeof lifecycleDetail>>;
const lifecycleFields = (d: LifecycleDetail): LifecycleFields => ({ instanceId: d.EC2InstanceId, groupName: d.AutoScalingGroupName, hookName: d.LifecycleHookName, token: d.LifecycleActionToken });

/** A value quoted for a reason line, cut short (events can carry anything). */
function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function firstIssue(error: z.ZodError, prefix: readonly PropertyKey[]): string {
  const issue = error.issues[0]!;
  return `${formatPath([...prefix, ...issue.path]) || '(event)'}: ${issue.message}`;
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** The event, or why it is ignored. Never throws. */
export function parseEvent(raw: unknown): LambdaEvent {
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { kind: 'ignored', reason: `expected an EventBridge event (a JSON object), got ${kindOf(raw)}` };
    const env = envelope.safeParse(raw);
    if (!env.success) return { kind: 'ignored', reason: firstIssue(env.error, []) };
    const e = env.data;
    const h = Object.hasOwn(HANDLERS, e['detail-type']) ? HANDLERS[e['detail-type']] : undefined;
    if (!h || h.source !== e.source) return { kind: 'ignored', reason: `unknown detail-type ${quote(e['detail-type'])} from ${quote(e.source)}` };
    if (h.source === 'aws.autoscaling' && isTestNotification(e.detail)) return { kind: 'ignored', reason: `detail: an Auto Scaling test notification (${TEST_NOTIFICATION}), no lifecycle action` };
    const d = h.detail.safeParse(e.detail);
    if (!d.success) return { kind: 'ignored', reason: firstIssue(d.error, ['detail']) };
    return h.build(d.data as never, { id: e.id ?? '', time: Date.parse(e.time) });
  } catch (err) {
    // A getter that throws, a proxy: still bad input, still not thrown.
    return { kind: 'ignored', reason: `unreadable event (${(err as Error).message})` };
  }
}
