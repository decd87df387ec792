// Verdicts and their transitions: what the tracker hands to the controller, logs and metrics.
import type { HandoverCause, NodeId, Timestamp } from '../signals.js';

export type VerdictState = 'unknown' | 'healthy' | 'unhealthy' | 'internet-unreachable';

/** A bounded set of reasons, usable as a metric label. */
export type VerdictCode =
  | 'first-seen'
  | 'ec2-not-running'
  | 'probes-failing'
  | 'silent-unreachable'
  | 'internet-unreachable'
  | 'internet-reachable'
  | 'recovered';

export interface NodeVerdict {
  node: NodeId;
  state: VerdictState;
  /** When the node entered this state. */
  since: Timestamp;
  code: VerdictCode;
  /** One line for logs and /status, naming the evidence. */
  reason: string;
  /** The latest planned-handover notice for the node; it does not change `state`. */
  handover?: { cause: HandoverCause; at: Timestamp; deadline?: Timestamp };
}

export interface VerdictTransition {
  node: NodeId;
  from: VerdictState;
  to: VerdictState;
  code: VerdictCode;
  reason: string;
  at: Timestamp;
}
