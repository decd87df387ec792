// The agent daemon: composes the data plane supervisor (with the EC2-side setup),
// probes from this node and through on-link peers, heartbeats that also share probe
// results, the verdict tracker, peer discovery, leader election over the lease store,
// the AWS signals (IMDS notices, lifecycle hooks), metrics and the HTTP surface.
// The config is validated before this is called (src/cli/agent.ts); everything here
// may touch the network.
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ImdsClient } from '../aws/imds.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { Probe } from '../dataplane/executor.js';
import type { ResolveOptions } from '../dataplane/interfaces.js';
import { localRunner, type Runner } from '../dataplane/runner.js';
import { fileStateStore, type StateStore } from '../dataplane/state.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { HandoverCause, NodeId, Signal } from '../domain/signals.js';
import { createVerdictTracker } from '../domain/verdict/index.js';
import {
  createHeartbeatEndpoint,
  createProbeScheduler,
  createSharedResultsOutbox,
  runProbe,
  selfJobs,
  throughPeerJobs,
  type ProbeFn,
  type ProbeJob,
  type ProbeScheduler,
} from '../probe/index.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { createAgentMetrics, type AgentMetrics } from '../telemetry/metrics-agent.js';
import { startAwsSignals, type AwsSignals } from './aws-signals.js';
import { createDataplaneSupervisor } from './dataplane-supervisor.js';
import { createSelfVantage } from '../probe/self-vantage.js';
import { createAgentController } from './agent-controller.js';
import { createAgentHttpServer } from './http-server.js';
import { createLeadership, type Leadership } from './leadership.js';
import { autoScalingClient, ec2Client, leaseStoreFor, nodeNetwork, onLinkIn, regionOf, type NodeNetwork } from './node-aws.js';
import { ec2Prepare } from './node-prepare.js';
import { waitUntilDrained } from './drain.js';
import { createObservations } from './observations.js';
import { discoverPeers } from './peer-discovery.js';
import { createPeerSet } from './peer-set.js';
import { createPeerStateWatch } from './peer-state-watch.js';
import { probeTarget, staticPeers, type StaticPeer } from './peers.js';
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
  /** Overrides heartbeat.port (0 picks a free port; tests). */
  heartbeatPort?: number;
  setupRetryMs?: number;
  verifyEveryMs?: number;
  resolve?: ResolveOptions;
  /** EC2 API; null turns off everything that needs it (source/dest check, floating ENI, discovery). Default: built from the config. */
  ec2?: Pick<EC2Client, 'send'> | null;
  /** Auto Scaling API for lifecycle hooks; null: no hooks. Default: built from the config. */
  autoScaling?: Pick<AutoScalingClient, 'send'> | null;
  /** The lease store; null: no leader election. Default: built from the config. */
  leaseStore?: LeaseStore | null;
  /** Replaces DescribeInstances-based discovery in discover mode (tests). */
  discoverPeers?: () => Promise<StaticPeer[]>;
}

export interface RunningAgent {
  readonly node: NodeId;
  /** The HTTP address actually bound (port 0 in the config picks one). */
  readonly http: { host: string; port: number };
  /** The heartbeat UDP port actually bound. */
  readonly heartbeatPort: number;
  readonly metrics: AgentMetrics;
  status(): AgentStatus;
  /** Leader election (absent when there is no lease store). */
  readonly leadership?: Leadership;
  /**
   * A planned handover notice about this node (SIGTERM, Spot, rebalance, lifecycle): it is
   * recorded (not a verdict) and announced in heartbeats; the node gives up the lease, stops
   * campaigning, and resolves once nothing routes through it any more (or after the bound).
   */
  handover(cause: HandoverCause, deadline?: number): Promise<void>;
  /** Stops everything; leaves the data plane in place. Idempotent. */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => Date.now() };

async function identity(config: AgentConfig, imds: Pick<ImdsClient, 'get'>): Promise<{ id: NodeId; zone?: string }> {
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
  const region = await regionOf(config, imds);
  const net: NodeNetwork = await nodeNetwork(imds).catch(() => ({}));
  const ec2 = deps.ec2 === undefined ? ec2Client(config, region) : deps.ec2;
  const autoScaling = deps.autoScaling === undefined ? autoScalingClient(config, region) : deps.autoScaling;
  const leaseStore = deps.leaseStore === undefined ? leaseStoreFor(config, region, clock) : deps.leaseStore;

  const tracker = createVerdictTracker(config.verdict);
  const targets = config.probe.targets.map(probeTarget);
  // The controller (while this node leads) wakes on every verdict transition and heartbeat loss.
  let wakeController = (_reason: string) => {};
  const obs = createObservations({ self: me.id, tracker, metrics, logger: log, clock, targets, onTransition: (t) => wakeController(`${t.node} ${t.from} → ${t.to}`) });
  // Results this agent produced go out in heartbeats; received ones come back as signals.
  const outbox = createSharedResultsOutbox(config.verdict.staleAfterMs);
  const observeOwn = (s: Signal) => {
    if (s.kind === 'probe') outbox.record(s);
    obs.observe(s);
  };

  const ownJobs = config.probe.targets.flatMap((t, i) => selfJobs(me.id, [targets[i]!], t.timeoutMs));
  // The self vantage probes through this node's forwarding path from a probe namespace
  // (unless probes are injected, in tests, or the config asks for local sockets).
  const selfVantage = !deps.probe && config.probe.selfVantage === 'namespace' ? createSelfVantage({ runner, namespace: config.probe.selfNamespace, logger: log }) : undefined;
  const selfProbe: ProbeFn = selfVantage ? selfVantage.probe : probe;
  let selfVantageUp = false;
  const ec2Steps = ec2 ? ec2Prepare({ ec2, instanceId: me.id, config: config.ec2, logger: log }) : undefined;
  const prepare = async () => {
    await ec2Steps?.();
    if (selfVantage && !selfVantageUp) {
      const r = await selfVantage.start();
      if (!r.ok) throw new Error(`the self vantage's probe namespace: ${r.reason}`);
      selfVantageUp = true;
    }
  };
  const supervisor = createDataplaneSupervisor({
    config: config.dataplane,
    runner,
    interfaces: () => imds.networkInterfaces(),
    clock,
    logger: log,
    state: deps.state ?? fileStateStore(),
    probe: selfTestProbe(ownJobs, selfProbe, clock),
    prepare,
    ...(deps.setupRetryMs !== undefined ? { retryMs: deps.setupRetryMs } : {}),
    ...(deps.verifyEveryMs !== undefined ? { verifyEveryMs: deps.verifyEveryMs } : {}),
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
    onConntrack: (r) => {
      if (r.entries !== undefined) metrics.conntrackEntries.set(undefined, r.entries);
      if (r.max !== undefined) metrics.conntrackMax.set(undefined, r.max);
    },
  });

  // A second ENI in the data plane's egress set is a floating ENI: this node carries a zone's egress.
  const carriesEgress = () => (supervisor.plan()?.config.egressInterfaces.length ?? 0) > 1;
  const ownVerdict = () => obs.verdicts().find((v) => v.node === me.id)?.state ?? 'unknown';
  const peerStates = ec2 ? createPeerStateWatch({ ec2, clock, logger: log, onSignal: (s) => obs.observe(s) }) : undefined;
  const heartbeat = createHeartbeatEndpoint({
    node: me.id,
    bindAddress: deps.heartbeatBindAddress ?? '0.0.0.0',
    port: deps.heartbeatPort ?? config.heartbeat.port,
    peers: [],
    clock,
    verdict: ownVerdict,
    carriesEgress: () => carriesEgress(),
    canLead: () => agentController !== undefined && (leadership?.canLead() ?? false),
    onSignal: (s) => {
      obs.observe(s);
      if (s.kind === 'heartbeat-lost') {
        peerStates?.lost(s.from);
        wakeController(`heartbeat lost from ${s.from}`);
      } else if (s.kind === 'heartbeat-received') peerStates?.heard(s.from);
      // A peer going away (Spot, SIGTERM, lifecycle): move its egress now, not at the next resync.
      else if (s.kind === 'planned-handover') wakeController(`${s.node} announced ${s.cause}`);
    },
    sharedResults: (now) => outbox.current(now),
    handover: () => notice,
    intervalMs: config.heartbeat.intervalMs,
    missedIntervals: config.heartbeat.lostAfterMissed,
  });

  const scheduler = (jobs: ProbeJob[], run: ProbeFn): ProbeScheduler =>
    createProbeScheduler({
      jobs,
      clock,
      intervalMs: config.probe.intervalMs,
      onSignal: observeOwn,
      probe: run,
      onError: (e, job) => log.error('probe_error', { target: job.target.name, vantage: job.vantage, error: e as Error }),
    });
  const ownScheduler = scheduler(ownJobs, obs.recordingErrors(selfProbe, me.id, 'self'));
  const peerSet = createPeerSet({
    runner,
    heartbeat,
    onLink: onLinkIn(net.subnetCidr),
    logger: log,
    probeThrough: (route) =>
      scheduler(
        config.probe.targets.flatMap((t, i) => throughPeerJobs(me.id, route, [targets[i]!], t.timeoutMs)),
        obs.recordingErrors(probe, route.peerId, `peer:${me.id}`),
      ),
  });

  const leadership = leaseStore
    ? createLeadership({
        store: leaseStore,
        self: me.id,
        ttlMs: config.lease.ttlMs,
        renewEveryMs: config.lease.renewEveryMs,
        clock,
        logger: log,
        yieldLeadership: () => {
          if (!carriesEgress()) return false;
          const healthy = new Set(obs.verdicts().filter((v) => v.state === 'healthy').map((v) => v.node));
          return heartbeat.peers().some((p) => p.state === 'alive' && p.carriesEgress === false && p.canLead === true && healthy.has(p.node));
        },
        onChange: (leader) => {
          metrics.leaseHolder.set(undefined, leader ? 1 : 0);
          agentController?.leaderChanged(leader);
        },
      })
    : undefined;
  const agentController =
    leadership && leaseStore && ec2 && net.vpcId && config.controller.enabled
      ? createAgentController({ config: config.controller, ec2, leaseStore, leadership, self: me.id, vpcId: net.vpcId, verdicts: () => obs.verdicts(), clock, logger: log })
      : undefined;
  if (agentController) wakeController = (reason) => agentController.wake(reason);

  // Planned handover: announce it in heartbeats (the leader moves egress away), give up the
  // lease, then stay up until nothing routes through this node (bounded).
  let notice: { cause: HandoverCause; at: number; deadline?: number } | undefined;
  let handingOver: Promise<void> | undefined;
  const handover = (cause: HandoverCause, deadline?: number): Promise<void> => {
    notice ??= { cause, at: clock.now(), ...(deadline !== undefined ? { deadline } : {}) };
    obs.observe({ kind: 'planned-handover', node: me.id, ...notice });
    log.info('planned_handover', { ...notice });
    handingOver ??= (async () => {
      await leadership?.stepDown(cause);
      if (ec2 && peerSet.peers().length) await waitUntilDrained({ ec2, instanceId: me.id, clock, logger: log, timeoutMs: config.handover.drainTimeoutMs });
    })();
    return handingOver;
  };

  const status = (): AgentStatus => {
    const hb = new Map(heartbeat.peers().map((p) => [p.node, p]));
    const lease = leadership?.lease();
    return {
      node: me,
      setup: supervisor.setup(),
      selfTest: supervisor.selfTest(),
      probes: obs.probes(),
      verdicts: obs.verdicts(),
      peers: peerSet.peers().map((p) => {
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
      lease: lease ? { holder: lease.holder, token: lease.token, expiresAt: lease.expiresAt, heldBySelf: leadership!.isLeader() } : leadership ? { holder: null, heldBySelf: false } : null,
    };
  };

  // Peers: static ones once; discovered ones now and every refreshMs (a failed refresh keeps the last list).
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const vpcId = net.vpcId;
  const peersConfig = config.peers;
  const discover =
    peersConfig.mode === 'static'
      ? undefined
      : (deps.discoverPeers ?? (ec2 && vpcId ? () => discoverPeers(ec2, { self: me.id, vpcId, tag: peersConfig.tag, heartbeatPort: config.heartbeat.port }) : undefined));
  const refreshPeers = async () => {
    if (!discover) return;
    try {
      await peerSet.update(await discover());
      const vantages = 1 + peerSet.probedThrough().length;
      if (vantages < config.verdict.minVantages)
        log.warn('verdict_vantages_short', { vantages, minVantages: config.verdict.minVantages, effect: 'probes alone can never find this node unhealthy; see docs/agent.md "One NAT per subnet"' });
    } catch (e) {
      log.warn('peer_discovery_failed', { error: e as Error, keeping: peerSet.peers().map((p) => p.id) });
    }
  };
  const scheduleRefresh = () => {
    if (stopped || config.peers.mode !== 'discover') return;
    refreshTimer = setTimeout(() => void refreshPeers().finally(scheduleRefresh), config.peers.refreshMs);
  };
  if (config.peers.mode === 'discover' && !discover) log.warn('peers_discovery_unavailable', { reason: 'no EC2 API or no VPC id from IMDS; running without peers' });

  let awsSignals: AwsSignals | undefined;
  const http = createAgentHttpServer({ status: { status }, metrics: metrics.registry, logger: log });
  const stopAll = async () => {
    stopped = true;
    if (refreshTimer) clearTimeout(refreshTimer);
    await Promise.allSettled([ownScheduler.stop(), peerSet.stop(), awsSignals?.stop(), leadership?.stop(), peerStates?.stop(), agentController?.stop()]);
    await Promise.allSettled([heartbeat.stop(), supervisor.stop(), http.close(), selfVantage?.stop()]);
  };

  let bound: { host: string; port: number };
  try {
    const addr = await http.listen(config.http.listen.host, config.http.listen.port);
    bound = { host: addr.address, port: addr.port };
    log.info('agent_starting', { peers: config.peers.mode, targets: targets.map((t) => t.name), subnet: net.subnetCidr ?? null, leaseStore: leaseStore ? config.lease.store : null });
    await heartbeat.start();
    awsSignals = startAwsSignals({ config, imds, autoScaling, node: me.id, logger: log, supervisor, handover });
    await supervisor.start();
    ownScheduler.start();
    if (config.peers.mode === 'static') await peerSet.update(staticPeers(config));
    else await refreshPeers();
    scheduleRefresh();
    leadership?.start();
  } catch (e) {
    await stopAll();
    throw e;
  }
  log.info('agent_running', { http: `${bound.host}:${bound.port}`, heartbeatPort: heartbeat.port(), setup: supervisor.setup().state, selfTest: supervisor.selfTest().state });

  let stopping: Promise<void> | undefined;
  return {
    node: me.id,
    http: bound,
    heartbeatPort: heartbeat.port(),
    metrics,
    status,
    ...(leadership ? { leadership } : {}),
    handover,
    stop() {
      stopping ??= stopAll().then(() => log.info('agent_stopped', {}));
      return stopping;
    },
  };
}
