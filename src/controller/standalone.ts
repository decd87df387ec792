// The controller off the NAT nodes (`natkeeper controller`): it campaigns for the same
// lease as the agents (so at most one of them acts, fenced by the token) and takes the
// verdicts from agents' /status over HTTP — verdicts live in the agents. The first agent
// in the list that answers is used; the others are fallbacks. Verdicts older than
// VERDICTS_STALE_MS count as none: a NAT without a healthy verdict is never chosen and
// never blamed, so losing every agent freezes egress where it is rather than guessing.
import { createAgentController, type AgentController } from '../agent/agent-controller.js';
import { createLeadership, type Leadership } from '../agent/leadership.js';
import type { AgentConfig } from '../config/agent-config.js';
import { fetchAgentVerdicts } from './agent-verdicts.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { NodeVerdict } from '../domain/verdict/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { EC2Client } from '@aws-sdk/client-ec2';

export const VERDICT_POLL_MS = 500;
export const VERDICTS_STALE_MS = 5_000;

export interface StandaloneOptions {
  config: AgentConfig;
  ec2: Pick<EC2Client, 'send'>;
  leaseStore: LeaseStore;
  vpcId: string;
  /** The lease holder name, e.g. controller:HOSTNAME. */
  holder: string;
  /** Agents' base URLs, in order of preference. */
  agents: readonly string[];
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  pollMs?: number;
}

export interface StandaloneController {
  leadership: Leadership;
  controller: AgentController;
  /** The verdicts in use now, and which agent gave them. */
  verdicts(): { verdicts: NodeVerdict[]; source?: string };
  /** Gives the lease up (planned stop). */
  stepDown(reason: string): Promise<void>;
  stop(): Promise<void>;
}

const key = (vs: readonly NodeVerdict[]) => vs.map((v) => `${v.node}=${v.state}${v.handover ? '+handover' : ''}`).sort().join(',');

export function startStandaloneController(opts: StandaloneOptions): StandaloneController {
  const log = opts.logger;
  const doFetch = opts.fetch ?? fetch;
  let latest: { verdicts: NodeVerdict[]; source: string; at: number } | undefined;
  let stopped = false;

  async function poll(): Promise<void> {
    for (const base of opts.agents) {
      const got = await fetchAgentVerdicts(base, doFetch, 1_000);
      if (!('source' in got)) continue;
      const changed = !latest || key(latest.verdicts) !== key(got.verdicts);
      if (latest?.source !== got.source) log.info('verdict_source', { url: got.source });
      latest = { verdicts: got.verdicts, source: got.source, at: opts.clock.now() };
      if (changed) controller.wake('verdicts changed');
      return;
    }
    if (latest && opts.clock.now() - latest.at > VERDICTS_STALE_MS) {
      log.warn('verdicts_unavailable', { agents: opts.agents });
      latest = undefined;
    }
  }

  const verdicts = () => (latest && opts.clock.now() - latest.at <= VERDICTS_STALE_MS ? { verdicts: latest.verdicts, source: latest.source } : { verdicts: [] });
  const leadership = createLeadership({
    store: opts.leaseStore,
    self: opts.holder,
    ttlMs: opts.config.lease.ttlMs,
    renewEveryMs: opts.config.lease.renewEveryMs,
    clock: opts.clock,
    logger: log,
    onChange: (leader) => controller.leaderChanged(leader),
  });
  const controller = createAgentController({
    config: opts.config.controller,
    ec2: opts.ec2,
    leaseStore: opts.leaseStore,
    leadership,
    self: opts.holder,
    vpcId: opts.vpcId,
    verdicts: () => verdicts().verdicts,
    clock: opts.clock,
    logger: log,
  });
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(poll);
  }, opts.pollMs ?? VERDICT_POLL_MS);
  polling = poll().then(() => leadership.start());

  return {
    leadership,
    controller,
    verdicts,
    stepDown: (reason) => leadership.stepDown(reason),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await polling;
      await leadership.stop();
      await controller.stop();
    },
  };
}
