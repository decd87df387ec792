// What the agent reports on /status and /healthz. The daemon implements StatusSource;
// the HTTP surface only reads it.
import type { NodeId, Timestamp, Vantage } from '../domain/signals.js';
import type { NodeVerdict } from '../domain/verdict/types.js';

export type StepState = 'pending' | 'running' | 'passed' | 'failed';

export interface StepStatus {
  state: StepState;
  /** Why it failed (or what it is waiting for). */
  reason?: string;
  /** When the step last changed state. */
  at?: Timestamp;
}

export interface ProbeStatus {
  /** The node whose NAT function the probe tested (this node for `self`, a peer for `peer:<this node>`, or anyone's shared result). */
  node: NodeId;
  /** The target's name (probe.targets[].name). */
  target: string;
  kind: 'tcp' | 'http' | 'icmp';
  vantage: Vantage;
  ok: boolean;
  /** Round-trip time of a passing probe. */
  latencyMs?: number;
  /** Why a probe failed (timeout, refused, …). */
  error?: string;
  at: Timestamp;
}

export interface PeerStatus {
  id: NodeId;
  address: string;
  /** When the last heartbeat arrived; absent when none has. */
  lastHeartbeatAt?: Timestamp;
  /** Sequence number of the last heartbeat. */
  seq?: number;
  /** The verdict the peer last announced about itself. */
  verdict?: NodeVerdict['state'];
  /** Silent for heartbeat.lostAfterMissed intervals. */
  lost: boolean;
}

export interface LeaseStatus {
  /** The current holder, or null when nobody holds the lease. */
  holder: string | null;
  token?: number;
  expiresAt?: Timestamp;
  /** This node holds it. */
  heldBySelf: boolean;
}

export interface AgentStatus {
  node: { id: NodeId; zone?: string };
  setup: StepStatus;
  selfTest: StepStatus;
  probes: ProbeStatus[];
  /** This node's verdict and the verdicts it holds about its peers. */
  verdicts: NodeVerdict[];
  peers: PeerStatus[];
  /** null when the lease store has not been read yet (or is unreachable). */
  lease: LeaseStatus | null;
}

/** Implemented by the daemon: a consistent snapshot of its state. */
export interface StatusSource {
  status(): AgentStatus | Promise<AgentStatus>;
}

export interface Health {
  healthy: boolean;
  reason: string;
}

/**
 * Healthy when setup and the self-test passed and this node's verdict is not unhealthy
 * ("unknown" while the windows fill, and "internet-unreachable", do not blame the node).
 */
export function healthOf(s: AgentStatus): Health {
  if (s.setup.state !== 'passed')
    return { healthy: false, reason: `setup ${s.setup.state}${s.setup.reason ? `: ${s.setup.reason}` : ''}` };
  if (s.selfTest.state !== 'passed')
    return { healthy: false, reason: `self-test ${s.selfTest.state}${s.selfTest.reason ? `: ${s.selfTest.reason}` : ''}` };
  const own = s.verdicts.find((v) => v.node === s.node.id);
  if (own?.state === 'unhealthy') return { healthy: false, reason: `verdict unhealthy: ${own.reason}` };
  return { healthy: true, reason: own ? `verdict ${own.state}` : 'verdict unknown (no verdict yet)' };
}
