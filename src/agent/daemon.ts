// The agent daemon: composes the data plane supervisor, probes (self and through static
// peers), heartbeats, the verdict tracker, metrics and the HTTP surface. The config is
// validated before this is called (src/cli/agent.ts); everything here may touch the network.
import { ImdsClient } from '../aws/imds.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { Probe } from '../dataplane/executor.js';
import type { ResolveOptions } from '../dataplane/interfaces.js';
import { localRunner, type Runner } from '../dataplane/runner.js';
import { fileStateStore, type StateStore } from '../dataplane/state.js';
import type { Clock } from '../domain/clock.js';
import type { NodeId } from '../domain/signals.js';
import { createVerdictTracker } from '../domain/verdict/index.js';
import {
  applyPeerRoutes,
  createHeartbeatEndpoint,
  createProbeScheduler,
  runProbe,
  selfJobs,
  throughPeerJobs,
  type HeartbeatEndpoint,
  type ProbeFn,
  type ProbeJob,
  type ProbeScheduler,
} from '../probe/index.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { createAgentMetrics, type AgentMetrics } from '../telemetry/metrics-agent.js';
import { createDataplaneSupervisor, type DataplaneSupervisor } from './dataplane-supervisor.js';
import { createAgentHttpServer } from './http-server.js';
import { createObservations } from './observations.js';
import { heartbeatPeers, peerRoutes, probeTarget, staticPeers } from './peers.js';
import type { AgentStatus } from './status.js';

export interface AgentDeps {
  /** Runs sysctl, nft and ip; default: on this host. */
  runner?: Runner;
  imds?: Pick<ImdsClient, 'get' | 'networkInterfaces'>;
  probe?: ProbeFn;
  clock?: Clock;
  logger?: Logger;
  /** Where the data plane keeps the sysctls it changed (for `dataplane reset`). Default /var/lib/natkeeper/dataplane-state.json. */
  state?: StateStore;
  /** UDP address heartbeats are received on. Default 0.0.0.0. */
  heartbeatBindAddress?: string;
  setupRetryMs?: number;
  verifyEveryMs?: number;
  resolve?: ResolveOptions;
}

export interface RunningAgent {
  readonly node: NodeId;
  /** The HTTP address actually bound (port 0 in the config picks one). */
  readonly http: { host: string; port: number };
  readonly metrics: AgentMetrics;
  status(): AgentStatus;
  /** A planned handover notice about this node (e.g. SIGTERM); it does not change the verdict. */
  handover(cause: 'sigterm'): void;
  /** Stops probes, heartbeats, the data plane checks and HTTP; leaves the data plane in place. Idempotent. */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => Date.now() };

async function identity(config: AgentConfig, imds: AgentDeps['imds'] & object): Promise<{ id: NodeId; zone?: string }> {
  const id = config.node.id ?? (await imds.get('instance-id'))?.trim();
  if (!id) throw new Error('node.id is not set and IMDS has no instance-id');
  const zone = config.node.zone ?? (await imds.get('placement/availability-zone').catch(() => undefined))?.trim();
  return zone ? { id, zone } : { id };
}

/** A probe through this node for the self-test: at least one target answers. */
function selfTestProbe(jobs: readonly ProbeJob[], probe: ProbeFn, clock: Clock): Probe {
  return async () => {
    const results = await Promise.all(jobs.map(async (j) => ({ j, r: await probe(j.target, { timeoutMs: j.timeoutMs ?? 1000, clock }) })));
    const detail = results.map(({ j, r }) => `${j.target.name} ${r.ok ? `ok ${Math.round(r.latencyMs)} ms` : (r.error ?? 'failed')}`).join(', ');
    return { ok: results.some((x) => x.r.ok), detail: `probes through this node: ${detail}` };
  };
}

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  const runner = deps.runner ?? localRunner();
  const imds = deps.imds ?? new ImdsClient({ baseUrl: config.imds.baseUrl });
  const probe = deps.probe ?? runProbe;
  const metrics = createAgentMetrics();
  const me = await identity(config, imds);
  const log = (deps.logger ?? silentLogger).child({ node: me.id, ...(me.zone ? { zone: me.zone } : {}) });

  const tracker = createVerdictTracker(config.verdict);
  const targets = config.probe.targets.map(probeTarget);
  const obs = createObservations({ self: me.id, tracker, metrics, logger: log, clock, targets });
  const peers = staticPeers(config);
  if (config.peers.mode === 'discover') log.warn('peers_discovery_unavailable', { reason: 'peer discovery is not implemented; running without peers (use peers.mode static)' });

  const ownJobs = config.probe.targets.flatMap((t, i) => selfJobs(me.id, [targets[i]!], t.timeoutMs));
  const supervisor: DataplaneSupervisor = createDataplaneSupervisor({
    config: config.dataplane,
    runner,
    interfaces: () => imds.networkInterfaces(),
    clock,
    logger: log,
    state: deps.state ?? fileStateStore(),
    probe: selfTestProbe(ownJobs, probe, clock),
    ...(deps.setupRetryMs !== undefined ? { retryMs: deps.setupRetryMs } : {}),
    ...(deps.verifyEveryMs !== undefined ? { verifyEveryMs: deps.verifyEveryMs } : {}),
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
    onConntrack: (r) => {
      if (r.entries !== undefined) metrics.conntrackEntries.set(undefined, r.entries);
      if (r.max !== undefined) metrics.conntrackMax.set(undefined, r.max);
    },
  });

  let heartbeat: HeartbeatEndpoint | undefined;
  const schedulers: ProbeScheduler[] = [];
  const ownVerdict = () => obs.verdicts().find((v) => v.node === me.id)?.state ?? 'unknown';

  const status = (): AgentStatus => {
    const hb = new Map((heartbeat?.peers() ?? []).map((p) => [p.node, p]));
    return {
      node: me,
      setup: supervisor.setup(),
      selfTest: supervisor.selfTest(),
      probes: obs.probes(),
      verdicts: obs.verdicts(),
      peers: peers.map((p) => {
        const h = hb.get(p.id);
        return {
          id: p.id,
          address: p.address,
          ...(h?.lastReceivedAt !== undefined ? { lastHeartbeatAt: h.lastReceivedAt } : {}),
          ...(h?.lastSeq !== undefined ? { seq: h.lastSeq } : {}),
          ...(h?.lastVerdict !== undefined ? { verdict: h.lastVerdict } : {}),
          lost: h?.state === 'lost',
        };
      }),
      lease: null,
    };
  };

  const http = createAgentHttpServer({ status: { status }, metrics: metrics.registry, logger: log });
  const stopAll = async () => {
    await Promise.allSettled(schedulers.map((s) => s.stop()));
    await Promise.allSettled([heartbeat?.stop(), supervisor.stop(), http.close()]);
  };

  let bound: { host: string; port: number };
  try {
    const addr = await http.listen(config.http.listen.host, config.http.listen.port);
    bound = { host: addr.address, port: addr.port };
    log.info('agent_starting', { peers: peers.map((p) => p.id), targets: targets.map((t) => t.name) });
    await supervisor.start();

    const scheduler = (jobs: ProbeJob[], wrap: (p: ProbeFn) => ProbeFn) =>
      createProbeScheduler({
        jobs,
        clock,
        intervalMs: config.probe.intervalMs,
        onSignal: (s) => obs.observe(s),
        probe: wrap(probe),
        onError: (e, job) => log.error('probe_error', { target: job.target.name, vantage: job.vantage, error: e as Error }),
      });
    schedulers.push(scheduler(ownJobs, (p) => obs.recordingErrors(p, me.id, 'self')));

    const routes = peerRoutes(peers);
    if (routes.length) {
      const r = await applyPeerRoutes(runner, routes);
      if (!r.ok) log.error('peer_routes_failed', { reason: r.reason, effect: 'no probes through peers' });
      else
        for (const route of routes) {
          const jobs = config.probe.targets.flatMap((t, i) => throughPeerJobs(me.id, route, [targets[i]!], t.timeoutMs));
          schedulers.push(scheduler(jobs, (p) => obs.recordingErrors(p, route.peerId, `peer:${me.id}`)));
        }
    }
    for (const s of schedulers) s.start();

    if (peers.length) {
      heartbeat = createHeartbeatEndpoint({
        node: me.id,
        bindAddress: deps.heartbeatBindAddress ?? '0.0.0.0',
        port: config.heartbeat.port,
        peers: heartbeatPeers(peers),
        clock,
        verdict: ownVerdict,
        onSignal: (s) => obs.observe(s),
        intervalMs: config.heartbeat.intervalMs,
        missedIntervals: config.heartbeat.lostAfterMissed,
      });
      await heartbeat.start();
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  log.info('agent_running', { http: `${bound.host}:${bound.port}`, setup: supervisor.setup().state, selfTest: supervisor.selfTest().state });

  let stopping: Promise<void> | undefined;
  return {
    node: me.id,
    http: bound,
    metrics,
    status,
    handover(cause) {
      obs.observe({ kind: 'planned-handover', node: me.id, cause, at: clock.now() });
      log.info('planned_handover', { cause });
    },
    stop() {
      stopping ??= stopAll().then(() => log.info('agent_stopped', {}));
      return stopping;
    },
  };
}
