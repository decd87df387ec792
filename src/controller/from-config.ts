// The config file's controller section → what observe and the planner take. One mapping
// for every place that runs or previews the controller: the agent, the operator
// commands (status, plan, failover…), the standalone controller and the Lambda.
import type { AgentConfig } from '../config/agent-config.js';
import type { PlannerPolicy } from '../domain/planner/index.js';
import type { ObserveConfig } from './observe.js';

type ControllerSection = AgentConfig['controller'];

export function observeConfigFrom(c: ControllerSection, vpcId: string): ObserveConfig {
  return { vpcId, ...(c.zones ? { zones: c.zones } : {}), ...(c.fallbackNatGatewayIds ? { fallbackNatGatewayIds: c.fallbackNatGatewayIds } : {}) };
}

export function plannerPolicyFrom(c: ControllerSection): PlannerPolicy {
  return { failbackAfterMs: c.failbackAfterMs, maxTransitions: c.maxTransitions, transitionWindowMs: c.transitionWindowMs, associationSwap: c.associationSwap };
}
