// Verdicts without agents. The Lambda sees no data path: it derives the planner's
// NodeVerdicts from what EC2 and Auto Scaling show, plus the notice the event carries.
//
// - running and InService in its Auto Scaling group (or in no group at all) → healthy,
//   with `since` = now. So failbackAfter is never met inside an invocation: the Lambda
//   fails over away from NATs that EC2 or an event condemns, and never fails back —
//   failback needs health observed over time, which only agents give. (An operator's
//   `natkeeper failback` intent still applies: it marks the zone's NATs stable itself.)
// - running but Pending / Pending:Wait / Standby / any other group state → unknown:
//   never chosen, never blamed (a launching node is not ready until its agent's
//   self-test completes the launch hook).
// - running and Terminating:Wait (or later Terminating states) → healthy with a
//   'lifecycle-terminating' handover notice: egress moves away while it still works.
//   This also covers a terminate lifecycle event that was lost: the schedule finds it.
// - not running → unhealthy ('ec2-not-running'); the planner treats any non-running
//   state as failed anyway (conditionOf), the verdict just says so in the logs.
// The event's own notice becomes the node's handover: Spot interruption →
// 'spot-instance-action' with deadline = the warning's time + 120 s; rebalance →
// 'rebalance-recommendation'; terminate lifecycle action → 'lifecycle-terminating'.
import { DescribeAutoScalingInstancesCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { withAwsRetry } from '../aws/retry.js';
import type { ObservedNode } from '../domain/planner/index.js';
import type { HandoverCause, NodeId, Timestamp } from '../domain/signals.js';
import type { NodeVerdict } from '../domain/verdict/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { HandledEvent } from './events.js';

/** EC2 gives a Spot instance two minutes' warning. */
export const SPOT_WARNING_MS = 120_000;
/** DescribeAutoScalingInstances accepts at most 50 instance ids per call. */
const ASG_IDS_PER_CALL = 50;

export type Notice = { node: NodeId; cause: HandoverCause; at: Timestamp; deadline?: Timestamp };

/** The handover notice an event carries, if any. */
export function noticeOf(event: HandledEvent): Notice | undefined {
  switch (event.kind) {
    case 'spot-interruption':
      return { node: event.instanceId, cause: 'spot-instance-action', at: event.time, deadline: event.time + SPOT_WARNING_MS };
    case 'rebalance':
      return { node: event.instanceId, cause: 'rebalance-recommendation', at: event.time };
    case 'lifecycle-terminate':
      return { node: event.instanceId, cause: 'lifecycle-terminating', at: event.time };
    default:
      return undefined;
  }
}

/** Instance id → its Auto Scaling lifecycle state; an instance in no group is absent. */
export type AsgStates = ReadonlyMap<NodeId, string>;

/** One DescribeAutoScalingInstances per 50 ids (one call for any normal fleet). */
export async function describeAsgStates(autoscaling: Pick<AutoScalingClient, 'send'>, ids: readonly NodeId[], log: Logger): Promise<AsgStates> {
  const states = new Map<NodeId, string>();
  for (let i = 0; i < ids.length; i += ASG_IDS_PER_CALL) {
    const chunk = ids.slice(i, i + ASG_IDS_PER_CALL);
    const out = await withAwsRetry(() => autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [...chunk], MaxRecords: ASG_IDS_PER_CALL })), { log, event: 'asg.api-retry' });
    for (const row of out.AutoScalingInstances ?? []) if (row.InstanceId && row.LifecycleState) states.set(row.InstanceId, row.LifecycleState);
  }
  return states;
}

const PENDING_OR_OTHER = 'not in service in its Auto Scaling group';

/** The verdict of each observed node at `now`, from EC2, Auto Scaling and the event's notice. */
export function deriveVerdicts(nodes: readonly ObservedNode[], asg: AsgStates, notice: Notice | undefined, now: Timestamp): NodeVerdict[] {
  return nodes.map((n): NodeVerdict => {
    const group = asg.get(n.id);
    const handover = notice?.node === n.id ? { cause: notice.cause, at: notice.at, ...(notice.deadline !== undefined ? { deadline: notice.deadline } : {}) } : undefined;
    if (n.state !== 'running') return { node: n.id, state: 'unhealthy', since: now, code: 'ec2-not-running', reason: `EC2 state ${n.state}`, ...(handover ? { handover } : {}) };
    if (group?.startsWith('Terminating'))
      return { node: n.id, state: 'healthy', since: now, code: 'first-seen', reason: `running, ${group} in its Auto Scaling group`, handover: handover ?? { cause: 'lifecycle-terminating', at: now } };
    if (group === undefined || group === 'InService')
      return { node: n.id, state: 'healthy', since: now, code: 'first-seen', reason: group ? 'running and InService (EC2 and Auto Scaling only: no data-path evidence)' : 'running, in no Auto Scaling group (EC2 only: no data-path evidence)', ...(handover ? { handover } : {}) };
    return { node: n.id, state: 'unknown', since: now, code: 'first-seen', reason: `running, ${group}: ${PENDING_OR_OTHER}`, ...(handover ? { handover } : {}) };
  });
}
