// Signals: one observation each, with the time it was made (DESIGN.md "Vocabulary").
// Pure types; the adapters that produce them live in probe/, aws/, agent/ and lambda/.

/** A NAT node's id (the EC2 instance id in AWS and in the lab). */
export type NodeId = string;

/** Milliseconds since the Unix epoch, as read from an injected clock. */
export type Timestamp = number;

/**
 * Where a data-path probe of a node's NAT function was made from:
 * `self` — the node's own agent, sending through the node itself;
 * `peer:<nodeId>` — a peer's agent, using the node as its next hop.
 */
export type Vantage = 'self' | `peer:${NodeId}`;

export function peerVantage(peer: NodeId): Vantage {
  return `peer:${peer}`;
}

export function isVantage(value: string): value is Vantage {
  return value === 'self' || (value.startsWith('peer:') && value.length > 'peer:'.length);
}

/** One data-path probe of `node` towards `target`, seen from `vantage`. */
export interface ProbeResultSignal {
  kind: 'probe';
  node: NodeId;
  /** The target's configured name or address, e.g. `tcp://198.51.100.10:443`. */
  target: string;
  vantage: Vantage;
  ok: boolean;
  /** Round-trip time for a pass; the time spent until the timeout or error for a failure. */
  latencyMs: number;
  at: Timestamp;
}

/** A UDP heartbeat arrived from a peer agent. */
export interface HeartbeatReceivedSignal {
  kind: 'heartbeat-received';
  from: NodeId;
  seq: number;
  at: Timestamp;
}

/**
 * Heartbeats from a peer stopped arriving (`seq` is the last one seen). It wakes the
 * controller early; it is never evidence for a verdict by itself.
 */
export interface HeartbeatLostSignal {
  kind: 'heartbeat-lost';
  from: NodeId;
  seq: number;
  at: Timestamp;
}

/** EC2 instance states, as DescribeInstances and EC2 state-change events name them. */
export const EC2_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type Ec2State = (typeof EC2_STATES)[number];

export interface Ec2StateSignal {
  kind: 'ec2-state';
  node: NodeId;
  state: Ec2State;
  at: Timestamp;
}

/** Why a node announced that it is going away while it still works. */
export const HANDOVER_CAUSES = [
  /** IMDS `spot/instance-action`: the Spot instance is stopped or terminated in about 2 minutes. */
  'spot-instance-action',
  /** IMDS `events/recommendations/rebalance`: elevated risk of a Spot interruption. */
  'rebalance-recommendation',
  /** The agent got SIGTERM (shutdown, systemd stop). */
  'sigterm',
  /** Auto Scaling lifecycle hook `autoscaling:EC2_INSTANCE_TERMINATING` (Terminating:Wait). */
  'lifecycle-terminating',
] as const;
export type HandoverCause = (typeof HANDOVER_CAUSES)[number];

/** A planned handover: move egress away from `node` before it goes. */
export interface PlannedHandoverSignal {
  kind: 'planned-handover';
  node: NodeId;
  cause: HandoverCause;
  at: Timestamp;
  /** When the node is expected to go, if the notice says (Spot `time`, hook timeout). */
  deadline?: Timestamp;
}

export type Signal =
  | ProbeResultSignal
  | HeartbeatReceivedSignal
  | HeartbeatLostSignal
  | Ec2StateSignal
  | PlannedHandoverSignal;

export type SignalKind = Signal['kind'];
