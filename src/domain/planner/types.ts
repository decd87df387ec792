// What the planner sees and what it decides (DESIGN.md "How data flows": observe →
// assess → plan). Pure data: the controller fills ObservedVpc from one Describe per
// resource kind, the verdicts come from the agents' signals, and the plan is carried
// out by the fenced executor.
import type { Ec2State, NodeId, Timestamp } from '../signals.js';
import type { VerdictState } from '../verdict/types.js';

/** A NAT node as EC2 shows it. */
export interface ObservedNode {
  id: NodeId;
  zone: string;
  state: Ec2State;
  /** The primary ENI (route target when a zone has no floating ENI). */
  primaryEniId: string;
  /** A Spot interruption, rebalance, SIGTERM or Terminating:Wait notice: move egress away. */
  handover?: { cause: string; at: Timestamp; deadline?: Timestamp };
}

/** A zone's floating ENI: the route tables' target; it carries the zone's EIP. */
export interface ObservedFloatingEni {
  eniId: string;
  /** Device index it is attached at on a NAT (configured; 1 by default). */
  deviceIndex: number;
  /** The instance it is attached to (attached or attaching), if any. */
  attachedTo?: NodeId;
  attachmentId?: string;
}

/** Where a route table's default route goes. */
export type RouteTarget =
  | { kind: 'eni'; id: string }
  | { kind: 'instance'; id: string }
  | { kind: 'nat-gateway'; id: string }
  | { kind: 'other'; id: string }
  | { kind: 'none' };

export interface ObservedRouteTable {
  id: string;
  /** The zone whose private subnets it serves. */
  zone: string;
  target: RouteTarget;
  /** EC2 marks the route `blackhole` when its target is gone or stopped. */
  blackhole: boolean;
  /** Subnets associated with it (for association-swap). */
  subnetAssociations: { associationId: string; subnetId: string }[];
}

export interface ObservedZone {
  name: string;
  floatingEni?: ObservedFloatingEni;
  /** Configured managed NAT Gateway of last resort. */
  fallbackNatGatewayId?: string;
}

export interface ObservedVpc {
  zones: ObservedZone[];
  nodes: ObservedNode[];
  routeTables: ObservedRouteTable[];
}

/** The health the planner weighs, per node (from the agents' verdicts and EC2). */
export interface NodeHealth {
  state: VerdictState;
  /** Since when the node has been continuously healthy (for failback). */
  healthySince?: Timestamp;
}

export interface PlannerPolicy {
  /** The zone-local NAT must stay healthy this long before egress returns to it. Default 60 s. */
  failbackAfterMs: number;
  /** At most this many transitions per zone within windowMs (anti-flap). Default 4 per 10 min. */
  maxTransitions: number;
  transitionWindowMs: number;
  /** Re-associate a failed zone's subnets with a healthy zone's table instead of replacing routes. Default false. */
  associationSwap: boolean;
}

export const DEFAULT_PLANNER_POLICY: PlannerPolicy = {
  failbackAfterMs: 60_000,
  maxTransitions: 4,
  transitionWindowMs: 600_000,
  associationSwap: false,
};

export type Strategy = 'eni-move' | 'route-replace' | 'association-swap' | 'nat-gateway';

/** One mutating step, in the order the executor runs them. */
export type Action =
  | { kind: 'detach-eni'; zone: string; eniId: string; attachmentId: string; from: NodeId }
  | { kind: 'attach-eni'; zone: string; eniId: string; to: NodeId; deviceIndex: number }
  | { kind: 'replace-route'; zone: string; routeTableId: string; target: RouteTarget; from: RouteTarget }
  | { kind: 'replace-association'; zone: string; associationId: string; subnetId: string; routeTableId: string };

/** What the planner decided for one zone, and why (for logs, `plan`, and the decision log). */
export interface ZoneDecision {
  zone: string;
  /** `ok`: egress works; `failover`/`failback`/`handover`: actions follow; `held`: something blocks them. */
  outcome: 'ok' | 'failover' | 'failback' | 'handover' | 'held' | 'no-egress';
  strategy?: Strategy;
  /** The node (or NAT Gateway) egress goes through after the actions. */
  via?: string;
  reason: string;
  actions: Action[];
}

export interface Plan {
  decisions: ZoneDecision[];
  /** All actions, zones without working egress first. */
  actions: Action[];
}

/** Earlier transitions per zone (from the decision log), for anti-flap. */
export interface TransitionRecord {
  zone: string;
  at: Timestamp;
}
