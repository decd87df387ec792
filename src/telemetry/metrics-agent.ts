// The agent's metrics: names, help, labels and buckets in one place (docs/agent.md lists them).
import { Registry, type Counter, type Gauge, type Histogram } from './metrics.js';

/** Probe latency buckets in seconds: 1 ms .. 2.5 s (a probe timeout is at most a few seconds). */
export const PROBE_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export interface AgentMetrics {
  readonly registry: Registry;
  /** Successful probe round-trip time, per target and vantage ("self" or "peer:NODE"). */
  readonly probeLatency: Histogram;
  /** Failed or timed-out probes, per target and vantage. */
  readonly probeFailures: Counter;
  /** Verdict changes, per node and from/to state. */
  readonly verdictTransitions: Counter;
  /** Heartbeat losses (a peer silent for heartbeat.lostAfterMissed intervals), per peer. */
  readonly heartbeatLost: Counter;
  /** Entries in this node's conntrack table. */
  readonly conntrackEntries: Gauge;
  /** The conntrack table's limit (nf_conntrack_max), for usage = entries / max. */
  readonly conntrackMax: Gauge;
  /** 1 when this node holds the lease, 0 otherwise. */
  readonly leaseHolder: Gauge;
}

export function createAgentMetrics(registry = new Registry()): AgentMetrics {
  return {
    registry,
    probeLatency: registry.histogram(
      'natkeeper_probe_latency_seconds',
      'Data-path probe round-trip time of successful probes.',
      ['target', 'vantage'],
      PROBE_LATENCY_BUCKETS,
    ),
    probeFailures: registry.counter('natkeeper_probe_failures_total', 'Data-path probes that failed or timed out.', ['target', 'vantage']),
    verdictTransitions: registry.counter('natkeeper_verdict_transitions_total', 'Verdict changes of a NAT node.', ['node', 'from', 'to']),
    heartbeatLost: registry.counter('natkeeper_heartbeat_lost_total', 'Times a peer went silent for heartbeat.lostAfterMissed intervals.', ['peer']),
    conntrackEntries: registry.gauge('natkeeper_conntrack_entries', 'Entries in the conntrack table.'),
    conntrackMax: registry.gauge('natkeeper_conntrack_max', 'Size limit of the conntrack table (nf_conntrack_max).'),
    leaseHolder: registry.gauge('natkeeper_lease_holder', '1 when this node holds the lease, 0 otherwise.'),
  };
}
