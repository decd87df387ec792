// Completing a terminate lifecycle action from the Lambda. Only after a cycle this
// invocation ran under the lease, and only when the leaving instance carries no egress
// any more (re-observed): then CONTINUE with the event's token, so Auto Scaling
// terminates it at once. While it still carries egress the action is left open (the
// reason is logged); Auto Scaling's heartbeat timeout is the backstop.
// CONTINUE is a mutating call like the executor's: the lease is checked right before
// each attempt is sent, so an invocation that lost the lease (its renewal failed, or it
// stalled past the lease's validity) never completes an action the lease holder decides.
// A launch action is never completed here: the new node's agent completes it after its
// self-test (src/aws/lifecycle.ts), and only it knows whether the node works.
import { CompleteLifecycleActionCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { withAwsRetry } from '../aws/retry.js';
import { checkedBeforeSend, FencedOut, type Fence } from '../controller/executor.js';
import type { Logger } from '../telemetry/logger.js';
import type { LifecycleFields } from './events.js';

export interface LifecycleOutcome {
  completed: boolean;
  reason: string;
}

const noActiveAction = (e: unknown) => (e as { name?: string }).name === 'ValidationError' && /no active lifecycle action/i.test((e as Error).message ?? '');

/**
 * CONTINUE by token, fenced by `fence`; an action that is no longer active (completed by
 * the node's agent, or timed out) and a lost lease are reported, not thrown.
 */
export async function completeTermination(autoscaling: Pick<AutoScalingClient, 'send'>, a: LifecycleFields, fence: Pick<Fence, 'isLeader'>, log: Logger): Promise<LifecycleOutcome> {
  try {
    await withAwsRetry(
      async () => {
        const held = () => {
          if (!fence.isLeader()) throw new FencedOut('the lease is not held (or too close to expiry) — CompleteLifecycleAction not sent');
        };
        held();
        const command = new CompleteLifecycleActionCommand({ AutoScalingGroupName: a.groupName, LifecycleHookName: a.hookName, LifecycleActionToken: a.token, LifecycleActionResult: 'CONTINUE' });
        // Checked again as the request's last step, after any SDK retry delay.
        return autoscaling.send(checkedBeforeSend(command, held));
      },
      { log, event: 'asg.api-retry', fields: { action: 'CompleteLifecycleAction' } },
    );
  } catch (e) {
    if (e instanceof FencedOut) {
      log.warn('lifecycle_left_open', { node: a.instanceId, group: a.groupName, hook: a.hookName, reason: e.message });
      return { completed: false, reason: `the lease was lost before completing: ${e.message}` };
    }
    if (!noActiveAction(e)) throw e;
    log.info('lifecycle_not_active', { node: a.instanceId, group: a.groupName, hook: a.hookName, error: e as Error });
    return { completed: false, reason: 'the lifecycle action is no longer active (completed by the node, or timed out)' };
  }
  log.info('lifecycle_completed', { node: a.instanceId, group: a.groupName, hook: a.hookName, result: 'CONTINUE' });
  return { completed: true, reason: 'CONTINUE: the instance carries no egress' };
}
