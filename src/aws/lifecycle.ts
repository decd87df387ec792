// Auto Scaling lifecycle hooks for the node the agent runs on.
//
// - Launch: when the instance waits in Pending:Wait, run setupAndSelfTest()
//   (heartbeating the hook while it runs) and complete with CONTINUE if it
//   passes, ABANDON (reason logged) if it fails or throws.
// - Terminate: when the instance waits in Terminating:Wait, run handOver()
//   bounded by a timeout (heartbeating meanwhile), then complete with CONTINUE,
//   whether or not the handover finished (the instance goes either way).
//
// The state comes from DescribeAutoScalingInstances; IMDS's
// autoscaling/target-lifecycle-state ("Terminated") is a cheap local trigger for
// the termination watch. Actions are completed by InstanceId, so no token is
// needed. Each call is retried with backoff on throttling and server errors.
// Idempotent: concurrent calls share one run, and an action that is no longer
// active when completed (someone else completed it, or a retry after a lost
// answer) counts as done if the instance has moved on.

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeId, PlannedHandoverSignal } from '../domain/signals.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import type { ImdsClient } from './imds.js';
import { isRetryableAwsError, withAwsRetry, type AwsRetryOptions } from './retry.js';

export type LifecycleResult = 'CONTINUE' | 'ABANDON';
type Transition = 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';
const LAUNCHING: Transition = 'autoscaling:EC2_INSTANCE_LAUNCHING';
const TERMINATING: Transition = 'autoscaling:EC2_INSTANCE_TERMINATING';

/** Retries of the hooks' API calls (see src/aws/retry.ts). */
export type LifecycleRetryOptions = AwsRetryOptions;
export { isRetryableAwsError };

export interface LifecycleOptions {
  autoScaling: Pick<AutoScalingClient, 'send'>;
  instanceId: NodeId;
  /** The hooks this agent answers; default: every hook of the group for that transition, the active one found by heartbeat. */
  launchHookName?: string;
  terminateHookName?: string;
  /** For watchTermination: polls autoscaling/target-lifecycle-state before asking the API. */
  imds?: Pick<ImdsClient, 'get'>;
  /** Upper bound on handOver() (default 60 s). */
  handOverTimeoutMs?: number;
  /** Upper bound on setupAndSelfTest() (default none: the hook's own timeout applies, heartbeats keep it open). */
  setupTimeoutMs?: number;
  /** Heartbeat interval while setup or handover runs (default: a third of the hook's heartbeat timeout, 1 s at least). */
  heartbeatIntervalMs?: number;
  /** How often to look at the state while waiting for Pending:Wait or Terminating:Wait (default 2000 ms). */
  pollIntervalMs?: number;
  retry?: LifecycleRetryOptions;
  /** Called with a 'lifecycle-terminating' planned-handover signal when Terminating:Wait is seen. */
  onSignal?: (signal: PlannedHandoverSignal) => void;
  now?: () => number;
  log?: Logger;
}

export interface AsgMembership {
  groupName: string;
  lifecycleState: string;
}

export type LaunchOutcome =
  | { result: 'CONTINUE'; hookName: string }
  | { result: 'ABANDON'; hookName: string; reason: string }
  /** Nothing to complete: not in a group, no launch hook, or already past Pending:Wait. */
  | { result: 'none'; state: string | undefined };

export type TerminationOutcome =
  | { result: 'CONTINUE'; hookName: string; handedOver: boolean; reason?: string }
  | { result: 'none'; state: string | undefined };

export type SetupAndSelfTest = (signal: AbortSignal) => Promise<boolean | void>;
export type HandOver = (signal: AbortSignal) => Promise<void>;


function isNoActiveAction(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /no active lifecycle action/i.test(e.message ?? '');
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

class Timeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export class LifecycleHooks {
  private readonly opts: LifecycleOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private launchRun: Promise<LaunchOutcome> | undefined;
  private terminationRun: Promise<TerminationOutcome> | undefined;
  private terminationDone: TerminationOutcome | undefined;

  constructor(opts: LifecycleOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).child({ node: opts.instanceId });
    this.now = opts.now ?? Date.now;
  }

  /** The instance's group and lifecycle state, or undefined when no group manages it. */
  async membership(): Promise<AsgMembership | undefined> {
    const out = await this.call('DescribeAutoScalingInstances', () =>
      this.opts.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [this.opts.instanceId] })),
    );
    const row = out.AutoScalingInstances?.find((i) => i.InstanceId === this.opts.instanceId);
    if (!row?.AutoScalingGroupName || !row.LifecycleState) return undefined;
    return { groupName: row.AutoScalingGroupName, lifecycleState: row.LifecycleState };
  }

  /**
   * The launch step. Waits while the instance is still Pending (up to waitMs,
   * default 60 s); in Pending:Wait runs setupAndSelfTest and completes the hook.
   * setupAndSelfTest passes by resolving to anything but false. Other states:
   * { result: 'none' } and setupAndSelfTest is not called.
   */
  completeLaunch(setupAndSelfTest: SetupAndSelfTest, waitMs = 60_000): Promise<LaunchOutcome> {
    this.launchRun ??= this.runLaunch(setupAndSelfTest, waitMs).finally(() => {
      this.launchRun = undefined;
    });
    return this.launchRun;
  }

  /**
   * The termination step: in Terminating:Wait runs handOver (bounded by
   * handOverTimeoutMs, heartbeating meanwhile), then completes with CONTINUE.
   * Once done, later calls answer the same outcome without calling handOver again.
   */
  completeTermination(handOver: HandOver): Promise<TerminationOutcome> {
    if (this.terminationDone) return Promise.resolve(this.terminationDone);
    this.terminationRun ??= this.runTermination(handOver).finally(() => {
      this.terminationRun = undefined;
    });
    return this.terminationRun;
  }

  /**
   * Polls (IMDS target-lifecycle-state when an ImdsClient is given, else the API)
   * until the instance is in Terminating:Wait, then runs completeTermination once.
   * Errors are logged and polled again; stop() ends the watch (it does not abort a
   * termination already under way, it waits for it).
   */
  watchTermination(handOver: HandOver, onOutcome?: (o: TerminationOutcome) => void): { stop(): Promise<void>; done: Promise<TerminationOutcome | undefined> } {
    const ctl = new AbortController();
    const interval = this.opts.pollIntervalMs ?? 2000;
    const loop = async (): Promise<TerminationOutcome | undefined> => {
      while (!ctl.signal.aborted) {
        try {
          if (await this.terminationLikely()) {
            const m = await this.membership();
            if (m?.lifecycleState === 'Terminating:Wait') {
              const outcome = await this.completeTermination(handOver);
              onOutcome?.(outcome);
              return outcome;
            }
          }
        } catch (err) {
          this.log.warn('asg.lifecycle-watch-error', { error: err as Error });
        }
        await sleep(interval, undefined, { signal: ctl.signal }).catch(() => {});
      }
      return undefined;
    };
    const done = loop();
    return {
      done,
      stop: async () => {
        ctl.abort();
        await done;
      },
    };
  }

  // ---- internals ---------------------------------------------------------------

  private async terminationLikely(): Promise<boolean> {
    if (!this.opts.imds) return true;
    try {
      const target = await this.opts.imds.get('autoscaling/target-lifecycle-state');
      // No answer (not in a group, or IMDS without the category): ask the API.
      return target === undefined || target.trim() === 'Terminated';
    } catch {
      return true;
    }
  }

  private async runLaunch(setupAndSelfTest: SetupAndSelfTest, waitMs: number): Promise<LaunchOutcome> {
    const end = this.now() + waitMs;
    let m = await this.membership();
    while (m?.lifecycleState === 'Pending' && this.now() < end) {
      await sleep(Math.min(this.opts.pollIntervalMs ?? 2000, Math.max(0, end - this.now())));
      m = await this.membership();
    }
    if (m?.lifecycleState !== 'Pending:Wait') {
      this.log.info('asg.launch-no-wait', { state: m?.lifecycleState });
      return { result: 'none', state: m?.lifecycleState };
    }
    const hook = await this.activeHook(m.groupName, LAUNCHING, this.opts.launchHookName);
    if (!hook) return { result: 'none', state: m.lifecycleState };
    this.log.info('asg.launch-wait', { group: m.groupName, hook: hook.name });
    let reason: string | undefined;
    try {
      const ok = await this.withHeartbeat(m.groupName, hook, 'setupAndSelfTest', this.opts.setupTimeoutMs, setupAndSelfTest);
      if (ok === false) reason = 'setupAndSelfTest reported failure';
    } catch (err) {
      reason = `setupAndSelfTest failed: ${errorText(err)}`;
    }
    const result: LifecycleResult = reason === undefined ? 'CONTINUE' : 'ABANDON';
    if (reason !== undefined) this.log.error('asg.launch-abandon', { group: m.groupName, hook: hook.name, reason });
    await this.complete(m.groupName, hook.name, result, ['InService', 'Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated']);
    this.log.info('asg.lifecycle-complete', { group: m.groupName, hook: hook.name, result });
    return reason === undefined ? { result: 'CONTINUE', hookName: hook.name } : { result: 'ABANDON', hookName: hook.name, reason };
  }

  private async runTermination(handOver: HandOver): Promise<TerminationOutcome> {
    const m = await this.membership();
    if (m?.lifecycleState !== 'Terminating:Wait') return { result: 'none', state: m?.lifecycleState };
    const hook = await this.activeHook(m.groupName, TERMINATING, this.opts.terminateHookName);
    if (!hook) return { result: 'none', state: m.lifecycleState };
    this.log.info('asg.terminate-wait', { group: m.groupName, hook: hook.name });
    try {
      this.opts.onSignal?.({
        kind: 'planned-handover',
        node: this.opts.instanceId,
        cause: 'lifecycle-terminating',
        at: this.now(),
        deadline: this.now() + hook.heartbeatTimeoutSec * 1000,
      });
    } catch (err) {
      this.log.error('asg.on-signal-failed', { error: err as Error });
    }
    let handedOver = true;
    let reason: string | undefined;
    try {
      await this.withHeartbeat(m.groupName, hook, 'handOver', this.opts.handOverTimeoutMs ?? 60_000, handOver);
    } catch (err) {
      handedOver = false;
      reason = `handOver failed: ${errorText(err)}`;
      this.log.error('asg.handover-failed', { group: m.groupName, hook: hook.name, reason });
    }
    await this.complete(m.groupName, hook.name, 'CONTINUE', ['Terminating', 'Terminating:Proceed', 'Terminated']);
    this.log.info('asg.lifecycle-complete', { group: m.groupName, hook: hook.name, result: 'CONTINUE', handedOver });
    const outcome: TerminationOutcome = { result: 'CONTINUE', hookName: hook.name, handedOver, ...(reason !== undefined ? { reason } : {}) };
    this.terminationDone = outcome;
    return outcome;
  }

  /**
   * The hook the instance waits on: the configured one, or the first of the
   * group's hooks for the transition that accepts a heartbeat (AWS answers
   * ValidationError for a hook with no active action).
   */
  private async activeHook(groupName: string, transition: Transition, configured?: string): Promise<{ name: string; heartbeatTimeoutSec: number } | undefined> {
    const out = await this.call('DescribeLifecycleHooks', () =>
      this.opts.autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName, ...(configured ? { LifecycleHookNames: [configured] } : {}) })),
    );
    const hooks = (out.LifecycleHooks ?? []).filter((h) => h.LifecycleTransition === transition && h.LifecycleHookName);
    for (const h of hooks) {
      const name = h.LifecycleHookName!;
      try {
        await this.heartbeat(groupName, name);
        return { name, heartbeatTimeoutSec: h.HeartbeatTimeout ?? 3600 };
      } catch (err) {
        if (!isNoActiveAction(err)) throw err;
      }
    }
    this.log.warn('asg.no-active-hook', { group: groupName, transition, configured, hooks: hooks.map((h) => h.LifecycleHookName) });
    return undefined;
  }

  private heartbeat(groupName: string, hookName: string) {
    return this.call('RecordLifecycleActionHeartbeat', () =>
      this.opts.autoScaling.send(
        new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: groupName, LifecycleHookName: hookName, InstanceId: this.opts.instanceId }),
      ),
    );
  }

  /** Runs fn with heartbeats every interval and an optional time bound; the signal aborts on timeout. */
  private async withHeartbeat<T>(
    groupName: string,
    hook: { name: string; heartbeatTimeoutSec: number },
    what: string,
    timeoutMs: number | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const interval = this.opts.heartbeatIntervalMs ?? Math.max(1000, (hook.heartbeatTimeoutSec * 1000) / 3);
    const ctl = new AbortController();
    const beat = setInterval(() => {
      this.heartbeat(groupName, hook.name).then(
        () => this.log.debug('asg.lifecycle-heartbeat', { group: groupName, hook: hook.name }),
        (err: unknown) => this.log.warn('asg.lifecycle-heartbeat-failed', { group: groupName, hook: hook.name, error: err as Error }),
      );
    }, interval);
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = fn(ctl.signal);
      if (timeoutMs === undefined) return await work;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Timeout(what, timeoutMs);
          ctl.abort(err);
          reject(err);
        }, timeoutMs);
      });
      return await Promise.race([work, timeout]);
    } finally {
      clearInterval(beat);
      if (timer) clearTimeout(timer);
    }
  }

  /** CompleteLifecycleAction by InstanceId; "no active action" is fine when the instance already moved on. */
  private async complete(groupName: string, hookName: string, result: LifecycleResult, movedOn: string[]): Promise<void> {
    try {
      await this.call('CompleteLifecycleAction', () =>
        this.opts.autoScaling.send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: groupName,
            LifecycleHookName: hookName,
            InstanceId: this.opts.instanceId,
            LifecycleActionResult: result,
          }),
        ),
      );
    } catch (err) {
      if (!isNoActiveAction(err)) throw err;
      const m = await this.membership();
      if (m !== undefined && !movedOn.includes(m.lifecycleState)) throw err;
      this.log.warn('asg.lifecycle-already-complete', { group: groupName, hook: hookName, state: m?.lifecycleState });
    }
  }

  private call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return withAwsRetry(fn, { ...(this.opts.retry ? { retry: this.opts.retry } : {}), log: this.log, event: 'asg.api-retry', fields: { action } });
  }

}
