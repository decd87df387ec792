// The agent's AWS signals: the IMDS watcher (Spot instance-action, rebalance
// recommendation) and Auto Scaling lifecycle hooks. Launching: complete the hook with
// CONTINUE once setup and the self-test passed (ABANDON when they do not pass within
// the setup timeout). Terminating: hand over first, then complete.
// Both are skipped quietly when the instance is not in an Auto Scaling group.
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ImdsClient } from '../aws/imds.js';
import { ImdsWatcher } from '../aws/imds-watcher.js';
import { LifecycleHooks } from '../aws/lifecycle.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { HandoverCause, NodeId } from '../domain/signals.js';
import type { Logger } from '../telemetry/logger.js';
import type { DataplaneSupervisor } from './dataplane-supervisor.js';

/** How long a launching node may take to pass setup and self-test before its hook is ABANDONed. */
export const LAUNCH_SETUP_TIMEOUT_MS = 120_000;

export interface AwsSignalsOptions {
  config: AgentConfig;
  imds: Pick<ImdsClient, 'get'>;
  autoScaling: Pick<AutoScalingClient, 'send'> | null;
  node: NodeId;
  logger: Logger;
  supervisor: Pick<DataplaneSupervisor, 'established'>;
  handover: (cause: HandoverCause, deadline?: number) => Promise<void>;
}

export interface AwsSignals {
  stop(): Promise<void>;
}

export function startAwsSignals(opts: AwsSignalsOptions): AwsSignals {
  const log = opts.logger;
  const watcher = new ImdsWatcher({
    imds: opts.imds,
    node: opts.node,
    intervalMs: opts.config.imds.pollIntervalMs,
    log,
    onSignal: (s) => void opts.handover(s.cause, s.deadline),
  });
  watcher.start();

  let termination: { stop(): Promise<void> } | undefined;
  let launch: Promise<unknown> = Promise.resolve();
  const stopping = new AbortController();
  if (opts.autoScaling) {
    const hooks = new LifecycleHooks({ autoScaling: opts.autoScaling, instanceId: opts.node, imds: opts.imds, setupTimeoutMs: LAUNCH_SETUP_TIMEOUT_MS, log });
    launch = hooks
      .completeLaunch(async (signal) => opts.supervisor.established(AbortSignal.any([signal, stopping.signal])))
      .then((o) => log.info('lifecycle_launch', { ...o }))
      .catch((e: unknown) => log.warn('lifecycle_launch_failed', { error: e as Error }));
    termination = hooks.watchTermination(
      () => opts.handover('lifecycle-terminating'),
      (o) => log.info('lifecycle_termination', { ...o }),
    );
  }

  return {
    async stop() {
      stopping.abort();
      await Promise.allSettled([watcher.stop(), termination?.stop(), launch]);
    },
  };
}
