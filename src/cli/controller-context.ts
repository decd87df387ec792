// What the operator commands (status, plan, history) share: the agent config file (for
// region, endpoints, the lease store and the controller section), the VPC to look at, and
// the verdicts — read from an agent's /status (default the local one), because verdicts
// live in the agents. Without a reachable agent, commands say so and go on with EC2 alone.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ImdsClient } from '../aws/imds.js';
import { ec2Client, leaseStoreFor } from '../agent/node-aws.js';
import type { AgentConfig } from '../config/agent-config.js';
import { HISTORY_READ } from '../controller/loop.js';
import { observeVpc, type ObserveConfig } from '../controller/observe.js';
import type { DecisionRecord, LeaseStore } from '../domain/ports/lease-store.js';
import type { ObservedVpc, PlannerPolicy } from '../domain/planner/index.js';
import { fetchAgentVerdicts, type AgentVerdicts } from '../controller/agent-verdicts.js';
import { observeConfigFrom, plannerPolicyFrom } from '../controller/from-config.js';

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:9469';

export interface ControllerContext {
  ec2: Pick<EC2Client, 'send'>;
  leaseStore: LeaseStore;
  observe: ObserveConfig;
  policy: PlannerPolicy;
  /** The agent's verdicts, or why there are none. */
  verdicts(): Promise<AgentVerdicts>;
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
    observe: observeConfigFrom(c, vpcId),
    policy: plannerPolicyFrom(c),
    verdicts: () => fetchAgentVerdicts(agentUrl, doFetch),
  };
}

/** What the controller would see now: the VPC, the verdicts and the decision log (for plan, failover, failback). */
export interface Situation {
  vpc: ObservedVpc;
  verdicts: AgentVerdicts;
  records: DecisionRecord[];
}

export async function readSituation(ctx: ControllerContext): Promise<Situation> {
  const [vpc, verdicts, records] = await Promise.all([observeVpc(ctx.ec2, ctx.observe), ctx.verdicts(), ctx.leaseStore.history(HISTORY_READ)]);
  return { vpc, verdicts, records };
}
