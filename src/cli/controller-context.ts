// What the operator commands (status, plan, history) share: the agent config file (for
// region, endpoints, the lease store and the controller section), the VPC to look at, and
// the verdicts — read from an agent's /status (default the local one), because verdicts
// live in the agents. Without a reachable agent, commands say so and go on with EC2 alone.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ImdsClient } from '../aws/imds.js';
import { ec2Client, leaseStoreFor } from '../agent/node-aws.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { ObserveConfig } from '../controller/observe.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import { DEFAULT_PLANNER_POLICY, type PlannerPolicy } from '../domain/planner/index.js';
import type { NodeVerdict } from '../domain/verdict/types.js';

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:9469';

export interface ControllerContext {
  ec2: Pick<EC2Client, 'send'>;
  leaseStore: LeaseStore;
  observe: ObserveConfig;
  policy: PlannerPolicy;
  /** The agent's verdicts, or why there are none. */
  verdicts(): Promise<{ verdicts: NodeVerdict[]; source: string } | { verdicts: []; unavailable: string }>;
}

export class ContextError extends Error {
  override name = 'ContextError';
}

export interface ContextDeps {
  imds?: Pick<ImdsClient, 'get'>;
  ec2?: Pick<EC2Client, 'send'>;
  leaseStore?: LeaseStore;
  fetch?: typeof fetch;
}

/** IMDS is asked only for what the config leaves out (region, VPC), with a short timeout. */
export async function openControllerContext(config: AgentConfig, agentUrl: string, deps: ContextDeps = {}): Promise<ControllerContext> {
  const imds = deps.imds ?? new ImdsClient({ baseUrl: config.imds.baseUrl, timeoutMs: 1_000 });
  const ask = async (path: string) => (await imds.get(path).catch(() => undefined))?.trim();
  const region = config.region ?? (deps.ec2 ? undefined : await ask('placement/region'));
  let vpcId = config.controller.vpcId;
  if (!vpcId) {
    const mac = await ask('mac');
    vpcId = mac ? await ask(`network/interfaces/macs/${mac}/vpc-id`) : undefined;
  }
  if (!vpcId) throw new ContextError('controller.vpcId: not set in the config and no instance metadata (IMDS) to read it from — set controller.vpcId when running off an instance');
  const c = config.controller;
  const doFetch = deps.fetch ?? fetch;
  return {
    ec2: deps.ec2 ?? ec2Client(config, region),
    leaseStore: deps.leaseStore ?? leaseStoreFor(config, region, { now: () => Date.now() }),
    observe: { vpcId, ...(c.zones ? { zones: c.zones } : {}), ...(c.fallbackNatGatewayIds ? { fallbackNatGatewayIds: c.fallbackNatGatewayIds } : {}) },
    policy: { ...DEFAULT_PLANNER_POLICY, failbackAfterMs: c.failbackAfterMs, maxTransitions: c.maxTransitions, transitionWindowMs: c.transitionWindowMs, associationSwap: c.associationSwap },
    async verdicts() {
      const url = `${agentUrl.replace(/\/+$/, '')}/status`;
      try {
        const r = await doFetch(url, { signal: AbortSignal.timeout(2_000) });
        if (!r.ok) return { verdicts: [], unavailable: `${url} answered ${r.status}` };
        const body = (await r.json()) as { verdicts?: NodeVerdict[] };
        return { verdicts: body.verdicts ?? [], source: url };
      } catch (e) {
        return { verdicts: [], unavailable: `no agent at ${url} (${(e as Error).message})` };
      }
    },
  };
}
