// The controller inside the agent: it runs while this node holds the lease and idles
// otherwise. Verdict transitions and heartbeat losses wake it at once.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createClientThrottle, EC2_MUTATING_BUCKET } from '../aws/throttle.js';
import type { AgentConfig } from '../config/agent-config.js';
import { createExecutor } from '../controller/executor.js';
import { createController, type Controller } from '../controller/loop.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { NodeId } from '../domain/signals.js';
import type { NodeVerdict } from '../domain/verdict/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Leadership } from './leadership.js';
import { observeConfigFrom, plannerPolicyFrom } from '../controller/from-config.js';

export interface AgentControllerOptions {
  config: AgentConfig['controller'];
  ec2: Pick<EC2Client, 'send'>;
  leaseStore: LeaseStore;
  leadership: Leadership;
  self: NodeId;
  vpcId: string;
  verdicts: () => NodeVerdict[];
  clock: Clock;
  logger: Logger;
}

export interface AgentController {
  readonly controller: Controller;
  /** Call on every leadership change. */
  leaderChanged(leader: boolean): void;
  wake(reason: string): void;
  stop(): Promise<void>;
}

export function createAgentController(opts: AgentControllerOptions): AgentController {
  const c = opts.config;
  const log = opts.logger.child({ component: 'controller' });
  const executor = createExecutor({
    ec2: opts.ec2,
    fence: opts.leadership,
    decisionLog: opts.leaseStore,
    holder: opts.self,
    throttle: createClientThrottle({ ...EC2_MUTATING_BUCKET, clock: opts.clock }),
    clock: opts.clock,
    logger: log,
  });
  const controller = createController({
    ec2: opts.ec2,
    fence: opts.leadership,
    decisionLog: opts.leaseStore,
    executor,
    observe: observeConfigFrom(c, opts.vpcId),
    policy: plannerPolicyFrom(c),
    verdicts: opts.verdicts,
    clock: opts.clock,
    logger: log,
    resyncMs: c.resyncMs,
  });
  return {
    controller,
    leaderChanged(leader) {
      if (leader) controller.start();
      else void controller.stop();
    },
    wake: (reason) => controller.wake(reason),
    stop: () => controller.stop(),
  };
}
