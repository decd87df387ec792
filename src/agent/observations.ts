// Where the agent's signals go: the verdict tracker, the metrics, the log, and the
// latest probe result per (node, target, vantage) for /status.
import type { Clock } from '../domain/clock.js';
import type { NodeId, Signal, Vantage } from '../domain/signals.js';
import type { VerdictTracker, VerdictTransition } from '../domain/verdict/index.js';
import type { ProbeFn, ProbeTarget } from '../probe/index.js';
import type { AgentMetrics } from '../telemetry/metrics-agent.js';
import type { Logger } from '../telemetry/logger.js';
import type { ProbeStatus } from './status.js';

/** A probe result in /status. */
export type ProbeRecord = ProbeStatus;

export interface Observations {
  observe(s: Signal): void;
  /** Wraps a probe function so the reason of a failure reaches /status (the signal carries none). */
  recordingErrors(probe: ProbeFn, node: NodeId, vantage: Vantage): ProbeFn;
  probes(): ProbeRecord[];
  /** The verdicts now; transitions that reading them causes (recovery by time) are counted too. */
  verdicts(): ReturnType<VerdictTracker['verdicts']>;
}

export function createObservations(opts: {
  self: NodeId;
  tracker: VerdictTracker;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  targets: readonly ProbeTarget[];
  /** Called once per verdict transition (the controller wakes on it). */
  onTransition?: (t: VerdictTransition) => void;
}): Observations {
  const kinds = new Map(opts.targets.map((t) => [t.name, t.kind]));
  const latest = new Map<string, ProbeRecord>();
  const errors = new Map<string, string | undefined>();
  const key = (node: NodeId, target: string, vantage: Vantage) => `${node}\u0000${target}\u0000${vantage}`;
  // Transitions come from observe() and also from verdicts(now) (a node recovers by time
  // alone), so they are counted from the tracker's history, each exactly once.
  const counted = new WeakSet<object>();
  const countTransitions = () => {
    for (const t of opts.tracker.transitions()) {
      if (counted.has(t)) continue;
      counted.add(t);
      opts.metrics.verdictTransitions.inc({ node: t.node, from: t.from, to: t.to });
      opts.logger[t.to === 'unhealthy' ? 'warn' : 'info']('verdict_transition', { ...t });
      opts.onTransition?.(t);
    }
  };

  return {
    observe(s) {
      if (s.kind === 'probe') {
        // Metrics count this agent's own probes only (not results shared by peers); its
        // probes through a peer are labelled by the peer they went through.
        const own = s.vantage === 'self' ? s.node === opts.self : s.vantage === `peer:${opts.self}`;
        const labels = { target: s.target, vantage: s.vantage === 'self' ? 'self' : `peer:${s.node}` };
        if (own && s.ok) opts.metrics.probeLatency.observe(labels, s.latencyMs / 1000);
        else if (own) opts.metrics.probeFailures.inc(labels);
        const k = key(s.node, s.target, s.vantage);
        const error = s.ok ? undefined : (errors.get(k) ?? 'timeout');
        latest.set(k, {
          node: s.node,
          target: s.target,
          kind: kinds.get(s.target) ?? 'tcp',
          vantage: s.vantage,
          ok: s.ok,
          ...(s.ok ? { latencyMs: s.latencyMs } : { error }),
          at: s.at,
        });
      } else if (s.kind === 'heartbeat-lost') {
        opts.metrics.heartbeatLost.inc({ peer: s.from });
        opts.logger.warn('heartbeat_lost', { peer: s.from, seq: s.seq });
      } else if (s.kind === 'heartbeat-received') {
        // Not a verdict input; /status reads the heartbeat endpoint's own peer table.
      }
      opts.tracker.observe(s);
      countTransitions();
    },
    recordingErrors(probe, node, vantage) {
      return async (target, po) => {
        const k = key(node, target.name, vantage);
        errors.delete(k);
        const out = await probe(target, po);
        errors.set(k, out.ok ? undefined : (out.error ?? 'failed'));
        return out;
      };
    },
    probes: () => [...latest.values()].map((r) => ({ ...r })),
    verdicts() {
      const now = opts.tracker.verdicts(opts.clock.now());
      countTransitions();
      return now;
    },
  };
}
