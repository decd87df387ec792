// The lab's data plane: mirrors the emulated VPC into Linux network namespaces.
//
//   <p>router  one bridge per subnet (gateway address on it), policy routing per
//              emulated route table, source/dest check and faults in nftables (bridge family)
//   <p>igw     stateless 1:1 EIP translation (nftables maps)
//   <p>inet    the internet: echo targets and one echo server process
//   <p>park    where detached ENIs wait, down
//   <p><hex>   one per instance; ENIs are veth pairs, the instance end named eth<device>
//
// Reflection is level-triggered: each LabChange marks objects dirty, and one
// queued reconcile pass compares the store's current state with what it applied
// last and sends the difference to the kernel (ip -batch, nft -f). Passes run one
// at a time, so repeated changes coalesce; a failing command is logged and the
// pass carries on.
//
// Network safety: nothing here links a lab namespace to the host's namespace, and
// no namespace gets a route to anything but lab addresses (the router's tables
// mirror the emulated ones and end at the igw, which routes only the VPC and the
// echo targets; the internet namespace routes only the EIP pool back).

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../../src/telemetry/logger.js';
import { DataPlaneFaults } from '../chaos/dataplane-faults.js';
import type { LabChange, LabStore } from '../emulator/store.js';
import type { LabManifest } from '../topology/build.js';
import { parseCidr } from '../topology/cidr.js';
import type { Topology } from '../topology/schema.js';
import {
  CommandError,
  deleteNetns,
  ip,
  ipBatch,
  killNetnsProcesses,
  listNetns,
  netnsPids,
  nftIn,
  run,
  signalPids,
  sysctlIn,
  type RunResult,
} from './exec.js';
import {
  INFRA_LINKS,
  LOCAL_RULE_PRIORITY,
  ROUTER_TABLE_BASE,
  SUBNET_RULE_BASE,
  bridgeMac,
  checkPrefix,
  eniParkedLink,
  eniRouterLink,
  eniShortNames,
  infraNamespaces,
  instanceShortNames,
  randomPrefix,
  subnetBridge,
  subnetShortNames,
  type InfraNamespaces,
} from './names.js';
import { bootstrapRuleset, faultsRuleset, igwMapUpdate, igwRuleset, sdcRuleset, sdcSetsUpdate, targetsRuleset } from './nft.js';
import { distScript, repoRoot } from './paths.js';
import { OpQueue } from './queue.js';
import { desiredRouterRoutes, instanceRouteLines, instanceRouting, instanceRules, routeDiffLines, type InstanceIface, type KernelRoute } from './routes.js';

export interface DataPlaneLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  [key: string]: unknown;
}

export interface DataPlaneOptions {
  store: LabStore;
  manifest: LabManifest;
  topology: Topology;
  /** Namespace name prefix, unique per lab (default: "nk<4 hex>-"). */
  prefix?: string;
  /** Where the state file (for crash recovery) goes; none when omitted. */
  runDir?: string;
  /** A natkeeper Logger, or a function taking one entry; default: warnings and errors to stderr. */
  log?: Logger | ((entry: DataPlaneLogEntry) => void);
  /** Apply the lab's minimal NAT bootstrap to running NAT instances (default true; the real agent replaces it). */
  natBootstrap?: boolean;
}

/** One LabChange and when the kernel reflected it. */
export interface ChangeTiming {
  seq: number;
  kind: LabChange['kind'];
  id: string;
  /** Epoch ms when the store announced the change. */
  changedAt: number;
  /** Epoch ms when the reconcile pass that covered it finished. */
  appliedAt: number;
  latencyMs: number;
  /** False when a command in that pass failed. */
  ok: boolean;
}

export interface DataPlaneState {
  prefix: string;
  pid: number;
  startedAt: string;
  namespaces: string[];
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface Forwarder {
  instanceId: string;
  listen: { ip: string; port: number };
  unixSocketPath: string;
  /** The current socat's pid (changes when the forwarder is restarted). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

interface EniMirror {
  id: string;
  subnetId: string;
  ip: string;
  mac: string;
  prefixLen: number;
  /** Router end (bridge port) and the instance end's name while parked. */
  rlink: string;
  plink: string;
  /** Where the instance end is now and what it is called there. */
  ns: string;
  ifname: string;
  instanceId?: string;
  deviceIndex?: number;
}

interface InstanceMirror {
  id: string;
  ns: string;
  role: 'nat' | 'app';
  linksUp: boolean;
  frozen: boolean;
  bootstrapped: boolean;
  /** Source rules we added: priority → "from <ip> lookup <table>". */
  rules: Map<number, string>;
}

interface ForwarderEntry {
  key: string;
  instanceId: string;
  listen: { ip: string; port: number };
  unixSocketPath: string;
  child?: ChildProcess;
  stopped: boolean;
}

interface PendingChange {
  seq: number;
  kind: LabChange['kind'];
  id: string;
  changedAt: number;
  perf: number;
}

const TIMING_LIMIT = 20_000;
const MAX_RETRIES = 4;
const STATE_FILE = 'dataplane.json';

function changeId(c: LabChange): string {
  switch (c.kind) {
    case 'route-table':
      return c.routeTableId;
    case 'instance-launched':
    case 'instance-state':
      return c.instanceId;
    case 'eni-created':
    case 'eni-deleted':
    case 'eni-attachment':
    case 'source-dest-check':
      return c.networkInterfaceId;
    case 'address':
      return c.allocationId;
    case 'asg':
      return c.autoScalingGroupName;
  }
}

const defaultLog = (e: DataPlaneLogEntry): void => {
  if (e.level === 'warn' || e.level === 'error') process.stderr.write(`${JSON.stringify({ component: 'lab-dataplane', ...e })}\n`);
};

function logFunction(log: DataPlaneOptions['log']): (e: DataPlaneLogEntry) => void {
  if (!log) return defaultLog;
  if (typeof log === 'function') return log;
  return ({ level, event, ...fields }) => log[level](event, fields);
}

export class DataPlane {
  readonly prefix: string;
  readonly ns: InfraNamespaces;
  readonly store: LabStore;
  readonly topology: Topology;
  readonly manifest: LabManifest;
  readonly vpcCidr: string;
  /** Data-plane fault injection (chaos verbs). */
  readonly faults: DataPlaneFaults;
  private readonly log: (e: DataPlaneLogEntry) => void;
  private readonly runDir: string | undefined;
  private readonly natBootstrap: boolean;
  private readonly queue: OpQueue;
  private readonly instanceNames = instanceShortNames();
  private readonly eniNames = eniShortNames();
  private readonly subnetNames = subnetShortNames();

  private readonly bridges = new Map<string, string>();
  private readonly instances = new Map<string, InstanceMirror>();
  private readonly enis = new Map<string, EniMirror>();
  private readonly tables = new Map<string, { table: number; routes: Map<string, KernelRoute>; stale: boolean }>();
  private nextTable = ROUTER_TABLE_BASE;
  private readonly subnetRules = new Map<string, { priority: number; table: number }>();
  private readonly subnetSlots = new Map<string, number>();
  private igwApplied = new Map<string, string>();
  private sdcApplied: string | undefined;
  private readonly heldDown = new Set<string>();
  private readonly forwarders = new Map<string, ForwarderEntry>();
  private readonly placementListeners = new Set<() => Promise<void>>();
  private echoServer: ChildProcess | undefined;

  private readonly dirty = {
    instances: new Set<string>(),
    enis: new Set<string>(),
    routeTables: new Set<string>(),
    rules: false,
    addresses: false,
    sdc: false,
  };
  private reconcileQueued = false;
  private failedPasses = 0;
  private pending: PendingChange[] = [];
  private seq = 0;
  private readonly timingLog: ChangeTiming[] = [];
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private built = false;

  private constructor(opts: DataPlaneOptions) {
    this.store = opts.store;
    this.topology = opts.topology;
    this.manifest = opts.manifest;
    this.prefix = checkPrefix(opts.prefix ?? randomPrefix());
    this.ns = infraNamespaces(this.prefix);
    this.vpcCidr = this.store.vpc(opts.manifest.vpcId).cidrBlock;
    this.log = logFunction(opts.log);
    this.runDir = opts.runDir;
    this.natBootstrap = opts.natBootstrap ?? true;
    this.queue = new OpQueue((label, e) => this.log({ level: 'error', event: 'dataplane.job-failed', job: label, error: String(e) }));
    this.faults = new DataPlaneFaults(this);
  }

  /** Whether this process may build a data plane (see canUseNetns). */
  static canUseNetns(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return canUseNetns();
  }

  /** Builds the data plane from the store's current state and starts reflecting its changes. */
  static async create(opts: DataPlaneOptions): Promise<DataPlane> {
    const dp = new DataPlane(opts);
    const clash = (await listNetns()).filter((n) => n.startsWith(dp.prefix));
    if (clash.length)
      throw new Error(`network namespaces with prefix "${dp.prefix}" already exist (${clash.join(', ')}): another lab uses it, or a crashed one left them; remove them with teardownLab("${dp.prefix}")`);
    // The echo server must be built before anything is created.
    const echoServer = distScript('echo-server', repoRoot());
    try {
      dp.writeState();
      dp.unsubscribe = dp.store.onChange((c) => dp.onChange(c));
      await dp.queue.run('build-infra', () => dp.buildInfra());
      for (const i of dp.store.instances.values()) dp.dirty.instances.add(i.instanceId);
      for (const e of dp.store.networkInterfaces.values()) dp.dirty.enis.add(e.networkInterfaceId);
      for (const t of dp.store.routeTables.values()) dp.dirty.routeTables.add(t.routeTableId);
      dp.dirty.rules = dp.dirty.addresses = dp.dirty.sdc = true;
      dp.scheduleReconcile();
      await dp.settled();
      await dp.startEchoServer(echoServer);
      dp.built = true;
      return dp;
    } catch (e) {
      await dp.teardown().catch(() => undefined);
      throw e;
    }
  }

  // ---- public API ---------------------------------------------------------------

  /** The namespace of an instance; undefined when it has none (not launched into the data plane, or terminated). */
  nsOf(instanceId: string): string | undefined {
    return this.instances.get(instanceId)?.ns;
  }

  /** The namespace of an instance, or an error saying it has none. */
  requireNs(instanceId: string): string {
    const ns = this.nsOf(instanceId);
    if (!ns) throw new Error(`the lab data plane has no namespace for instance ${instanceId} (unknown or terminated)`);
    return ns;
  }

  get routerNs(): string {
    return this.ns.router;
  }
  get igwNs(): string {
    return this.ns.igw;
  }
  get inetNs(): string {
    return this.ns.inet;
  }
  get parkNs(): string {
    return this.ns.park;
  }

  /** Every namespace this data plane made and still holds. */
  namespaces(): string[] {
    return [this.ns.router, this.ns.igw, this.ns.inet, this.ns.park, ...[...this.instances.values()].map((m) => m.ns)];
  }

  /** Starts argv inside the instance's namespace (`ip netns exec`). */
  spawnIn(instanceId: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return this.spawnInNs(this.requireNs(instanceId), argv, opts);
  }

  spawnInNs(ns: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (!this.namespaces().includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
    return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  }

  /** Runs argv inside the instance's namespace to completion. */
  exec(instanceId: string, argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.execNs(this.requireNs(instanceId), argv, opts);
  }

  execNs(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    if (!this.namespaces().includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Resolves when every queued kernel operation (and every change announced so far) has been applied. */
  async settled(): Promise<void> {
    while (!this.queue.idle || this.reconcileQueued) await this.queue.settled();
  }

  /** Per-change reflection timings (store change → kernel applied), oldest first. */
  changeTimings(): ChangeTiming[] {
    return [...this.timingLog];
  }

  clearChangeTimings(): void {
    this.timingLog.length = 0;
  }

  /**
   * Serves a unix socket inside an instance: `socat TCP-LISTEN:<port>,bind=<ip>,fork,reuseaddr
   * UNIX-CONNECT:<path>` in the instance's namespace, with <ip> (e.g. 169.254.169.254) on its lo.
   * The forwarder is restarted whenever the instance starts again.
   */
  async startForwarder(instanceId: string, listen: { ip: string; port: number }, unixSocketPath: string): Promise<Forwarder> {
    // The namespace may still be on its way (a forwarder asked for from an instance-launched
    // listener): check the instance now, its namespace once the queue reaches this job.
    const inst = this.store.instances.get(instanceId);
    if (!inst || inst.state === 'terminated') throw new Error(`cannot serve a forwarder in ${instanceId}: no such running instance`);
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(listen.ip) || !Number.isInteger(listen.port) || listen.port < 1 || listen.port > 65535)
      throw new Error(`forwarder listen address must be an IPv4 address and a port 1-65535, got ${listen.ip}:${listen.port}`);
    unixSocketPath = resolve(unixSocketPath);
    // socat reads "," ":" and "!" in an address as syntax.
    if (/[,:!\s]/.test(unixSocketPath)) throw new Error(`forwarder socket path must not hold , : ! or spaces (socat syntax): ${unixSocketPath}`);
    const key = `${instanceId} ${listen.ip}:${listen.port}`;
    if (this.forwarders.has(key)) throw new Error(`a forwarder for ${listen.ip}:${listen.port} already runs in ${instanceId}`);
    const entry: ForwarderEntry = { key, instanceId, listen, unixSocketPath, stopped: false };
    this.forwarders.set(key, entry);
    try {
      await this.queue.run(`forwarder ${key}`, () => this.launchForwarder(entry));
    } catch (e) {
      this.forwarders.delete(key);
      throw e;
    }
    return {
      instanceId,
      listen,
      unixSocketPath,
      get pid() {
        return entry.child?.pid;
      },
      stop: () => this.stopForwarder(entry),
    };
  }

  /** Stops reflecting, kills every process in the lab's namespaces and removes them. */
  async teardown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    await Promise.race([this.queue.settled(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    for (const f of this.forwarders.values()) {
      f.stopped = true;
      f.child?.kill('SIGKILL');
    }
    this.forwarders.clear();
    this.echoServer?.kill('SIGKILL');
    await teardownLab(this.prefix);
    this.instances.clear();
    this.enis.clear();
    if (this.runDir) rmSync(join(this.runDir, STATE_FILE), { force: true });
  }

  // ---- hooks for chaos (lab/chaos/dataplane-faults.ts) ------------------------------

  /** Runs a kernel operation in the data plane's queue, after everything queued before it. */
  enqueue<T>(label: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(label, fn);
  }

  /** Router-side bridge ports (veth ends) of the ENIs now in the instance's namespace. */
  portsOf(instanceId: string): string[] {
    return this.enisIn(instanceId).map((e) => e.rlink);
  }

  /** Private IPs of the ENIs now in the instance's namespace. */
  addressesOf(instanceId: string): string[] {
    return this.enisIn(instanceId).map((e) => e.ip);
  }

  /** The instance-side interface names (eth<N>) now in its namespace. */
  interfacesOf(instanceId: string): string[] {
    return this.enisIn(instanceId).map((e) => e.ifname);
  }

  /** Called (inside the queue) after ENIs moved between namespaces, so faults keyed by instance can follow. */
  onPlacementChange(fn: () => Promise<void>): () => void {
    this.placementListeners.add(fn);
    return () => this.placementListeners.delete(fn);
  }

  /**
   * Holds an instance's links down whatever its EC2 state (a hard-killed instance), until
   * released or until the instance leaves running (its next start brings it up normally).
   * Applied through the queue; resolves once the kernel has it.
   */
  async holdDown(instanceId: string, held: boolean): Promise<void> {
    if (held) this.heldDown.add(instanceId);
    else this.heldDown.delete(instanceId);
    this.dirty.instances.add(instanceId);
    this.scheduleReconcile();
    await this.settled();
  }

  isHeldDown(instanceId: string): boolean {
    return this.heldDown.has(instanceId);
  }

  /** Loads an nftables script in one of the lab's namespaces. */
  nft(ns: string, script: string): Promise<RunResult> {
    return nftIn(ns, script);
  }

  /** Pids of the processes in an instance's namespace. */
  pidsOf(instanceId: string): Promise<number[]> {
    return netnsPids(this.requireNs(instanceId));
  }

  // ---- change intake ------------------------------------------------------------

  private onChange(c: LabChange): void {
    if (this.closed) return;
    try {
      this.pending.push({ seq: ++this.seq, kind: c.kind, id: changeId(c), changedAt: Date.now(), perf: performance.now() });
      switch (c.kind) {
        case 'route-table':
          this.dirty.routeTables.add(c.routeTableId);
          this.dirty.rules = true;
          break;
        case 'instance-launched':
          this.dirty.instances.add(c.instanceId);
          for (const e of this.store.interfacesOf(c.instanceId)) this.dirty.enis.add(e.networkInterfaceId);
          this.dirty.sdc = true;
          break;
        case 'instance-state':
          this.dirty.instances.add(c.instanceId);
          if (c.to !== 'running' && c.to !== 'pending') this.heldDown.delete(c.instanceId);
          break;
        case 'eni-created':
          this.dirty.enis.add(c.networkInterfaceId);
          this.dirty.sdc = true;
          break;
        case 'eni-deleted':
          this.dirty.enis.add(c.networkInterfaceId);
          if (c.eni.attachment) this.dirty.instances.add(c.eni.attachment.instanceId);
          this.dirty.sdc = true;
          break;
        case 'eni-attachment':
          this.dirty.enis.add(c.networkInterfaceId);
          this.dirty.instances.add(c.instanceId);
          this.dirty.sdc = true;
          break;
        case 'source-dest-check':
          this.dirty.sdc = true;
          break;
        case 'address':
          this.dirty.addresses = true;
          break;
        case 'asg':
          // Nothing in the kernel: the group's instances announce their own changes.
          this.pending.pop();
          return;
      }
      this.scheduleReconcile();
    } catch (e) {
      this.log({ level: 'error', event: 'dataplane.change-intake-failed', change: c.kind, error: String(e) });
    }
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    this.queue.push('reconcile', async () => {
      // The queue may start this job inside the store call that announced the change: let
      // that call finish first, so every change it announces lands in this one pass.
      await Promise.resolve();
      this.reconcileQueued = false;
      await this.reconcile();
    });
  }

  // ---- the reconcile pass -------------------------------------------------------------

  private async reconcile(): Promise<void> {
    const d = {
      instances: new Set(this.dirty.instances),
      enis: new Set(this.dirty.enis),
      routeTables: new Set(this.dirty.routeTables),
      rules: this.dirty.rules,
      addresses: this.dirty.addresses,
      sdc: this.dirty.sdc,
    };
    this.dirty.instances.clear();
    this.dirty.enis.clear();
    this.dirty.routeTables.clear();
    this.dirty.rules = this.dirty.addresses = this.dirty.sdc = false;
    const changes = this.pending;
    this.pending = [];

    let ok = true;
    const step = async (label: string, fn: () => Promise<void>) => {
      const t0 = performance.now();
      try {
        await fn();
        this.log({ level: 'debug', event: 'dataplane.step', step: label, durationMs: Math.round((performance.now() - t0) * 10) / 10 });
      } catch (e) {
        ok = false;
        this.log({ level: 'error', event: 'dataplane.step-failed', step: label, error: e instanceof Error ? e.message : String(e) });
      }
    };

    const stamp = (which: PendingChange[], passOk: boolean) => {
      const appliedPerf = performance.now();
      const appliedAt = Date.now();
      for (const c of which)
        this.timingLog.push({ seq: c.seq, kind: c.kind, id: c.id, changedAt: c.changedAt, appliedAt, latencyMs: appliedPerf - c.perf, ok: passOk });
    };

    // Routes go first (they are what a route-replace failover waits on), except those that
    // make an ENI the next hop while this pass still places or configures that ENI (an ENI
    // move, an instance starting): those wait until the instance has the ENI up and routed,
    // so no packet reaches an instance that would send it out the wrong way (wrong EIP).
    const placing = new Set(d.enis);
    for (const id of d.instances) for (const e of this.store.interfacesOf(id)) placing.add(e.networkInterfaceId);
    const early: string[] = [];
    const late: string[] = [];
    for (const id of d.routeTables) (this.routesThrough(id, placing) ? late : early).push(id);

    await step('bridges', () => this.ensureBridges());
    if (early.length) await step('route-tables', () => this.syncRouteTables(early));
    if (d.rules) await step('subnet-rules', () => this.syncSubnetRules());
    const earlySet = new Set(early);
    stamp(
      changes.filter((c) => c.kind === 'route-table' && earlySet.has(c.id)),
      ok,
    );
    await step('instance-namespaces', () => this.createInstanceNamespaces([...d.instances]));
    const touched = new Set<string>();
    await step('enis', () => this.syncEnis([...d.enis], d.instances, touched));
    for (const id of touched) d.instances.add(id);
    for (const id of d.instances) await step(`instance ${id}`, () => this.syncInstance(id));
    if (late.length) await step('route-tables (after ENI placement)', () => this.syncRouteTables(late));
    stamp(
      changes.filter((c) => c.kind === 'route-table' && !earlySet.has(c.id)),
      ok,
    );
    if (d.addresses) await step('igw', () => this.syncIgw());
    if (d.sdc || touched.size) await step('source-dest-check', () => this.syncSdc());
    if (touched.size)
      for (const fn of this.placementListeners) await step('placement-listener', fn);

    stamp(
      changes.filter((c) => c.kind !== 'route-table'),
      ok,
    );
    if (this.timingLog.length > TIMING_LIMIT) this.timingLog.splice(0, this.timingLog.length - TIMING_LIMIT);
    if (ok) this.failedPasses = 0;
    else this.retryLater(d);
  }

  /** Whether a route table sends traffic to one of these ENIs now. */
  private routesThrough(routeTableId: string, enis: ReadonlySet<string>): boolean {
    if (!enis.size) return false;
    const rt = this.store.routeTables.get(routeTableId);
    if (!rt) return false;
    return rt.routes.some((r) => {
      const hop = this.store.routeNextHop(r);
      return hop.kind === 'eni' && enis.has(hop.eni.networkInterfaceId);
    });
  }

  /**
   * After a pass with a failing step, runs the same objects again (level-triggered, so a
   * repeat is harmless) after a growing pause; gives up after a few attempts (all logged).
   */
  private retryLater(d: { instances: Set<string>; enis: Set<string>; routeTables: Set<string>; rules: boolean; addresses: boolean; sdc: boolean }): void {
    this.failedPasses++;
    if (this.failedPasses > MAX_RETRIES || this.closed) {
      this.log({ level: 'error', event: 'dataplane.giving-up', attempts: this.failedPasses });
      this.failedPasses = 0;
      return;
    }
    const delay = 100 * 2 ** (this.failedPasses - 1);
    setTimeout(() => {
      if (this.closed) return;
      for (const id of d.instances) this.dirty.instances.add(id);
      for (const id of d.enis) this.dirty.enis.add(id);
      for (const id of d.routeTables) this.dirty.routeTables.add(id);
      this.dirty.rules ||= d.rules;
      this.dirty.addresses ||= d.addresses;
      this.dirty.sdc ||= d.sdc;
      this.scheduleReconcile();
    }, delay).unref();
  }

  // ---- infrastructure -------------------------------------------------------------

  private async buildInfra(): Promise<void> {
    const { router, igw, inet, park } = this.ns;
    await Promise.all([router, igw, inet, park].map((n) => this.addNamespace(n, n === router || n === igw)));
    const L = INFRA_LINKS;
    await ipBatch(router, [
      `link add ${L.routerToIgw.router} type veth peer name ${L.routerToIgw.igw} netns ${igw}`,
      `addr add ${L.routerToIgw.routerIp}/30 dev ${L.routerToIgw.router}`,
      `link set ${L.routerToIgw.router} up`,
      // The VPC's "local" route: VPC destinations use the connected routes of main, before any subnet's table.
      `rule add priority ${LOCAL_RULE_PRIORITY} to ${this.vpcCidr} lookup main`,
    ]);
    await ipBatch(igw, [
      `link add ${L.igwToInet.igw} type veth peer name ${L.igwToInet.inet} netns ${inet}`,
      `addr add ${L.routerToIgw.igwIp}/30 dev ${L.routerToIgw.igw}`,
      `addr add ${L.igwToInet.igwIp}/30 dev ${L.igwToInet.igw}`,
      `link set ${L.routerToIgw.igw} up`,
      `link set ${L.igwToInet.igw} up`,
      `route add ${this.vpcCidr} via ${L.routerToIgw.routerIp} dev ${L.routerToIgw.igw}`,
      // Only the echo targets are "the internet": the igw has no default route.
      ...this.topology.internet.echoTargets.map((t) => `route add ${t}/32 via ${L.igwToInet.inetIp} dev ${L.igwToInet.igw}`),
    ]);
    await ipBatch(inet, [
      `addr add ${L.igwToInet.inetIp}/30 dev ${L.igwToInet.inet}`,
      `link set ${L.igwToInet.inet} up`,
      ...this.topology.internet.echoTargets.map((t) => `addr add ${t}/32 dev lo`),
      `route add ${this.topology.internet.eipPool} via ${L.igwToInet.igwIp} dev ${L.igwToInet.inet}`,
    ]);
    await Promise.all([
      nftIn(igw, igwRuleset(this.vpcCidr, new Map())),
      nftIn(router, sdcRuleset() + faultsRuleset({ partitions: [], loss: [] })),
      nftIn(inet, targetsRuleset()),
    ]);
    this.igwApplied = new Map();
  }

  /** A namespace with lo up, rp_filter off, no IPv6 chatter; forwarding on for routers. */
  private async addNamespace(ns: string, forwarding: boolean): Promise<void> {
    await runCheckedIp(['netns', 'add', ns]);
    this.writeState();
    await sysctlIn(ns, {
      'net.ipv4.ip_forward': forwarding ? 1 : 0,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
      // Two ENIs of one instance share a bridge: each answers ARP only for its own address.
      'net.ipv4.conf.all.arp_ignore': 1,
      'net.ipv4.conf.all.arp_announce': 2,
      'net.ipv6.conf.all.disable_ipv6': 1,
      'net.ipv6.conf.default.disable_ipv6': 1,
    });
    await ip(ns, 'link', 'set', 'lo', 'up');
  }

  private async ensureBridges(): Promise<void> {
    const lines: string[] = [];
    const added: [string, string][] = [];
    for (const s of this.store.subnets.values()) {
      if (this.bridges.has(s.subnetId)) continue;
      const br = subnetBridge(this.subnetNames.get(s.subnetId));
      const bits = parseCidr(s.cidrBlock).bits;
      lines.push(
        `link add ${br} address ${bridgeMac(s.subnetId)} type bridge`,
        `addr add ${s.gatewayIp}/${bits} dev ${br}`,
        `link set ${br} up`,
      );
      added.push([s.subnetId, br]);
    }
    if (!lines.length) return;
    await ipBatch(this.ns.router, lines);
    for (const [id, br] of added) this.bridges.set(id, br);
  }

  // ---- router: route tables and subnet rules -------------------------------------------

  private tableOf(routeTableId: string): { table: number; routes: Map<string, KernelRoute>; stale: boolean } {
    let t = this.tables.get(routeTableId);
    if (!t) {
      t = { table: this.nextTable++, routes: new Map(), stale: false };
      this.tables.set(routeTableId, t);
    }
    return t;
  }

  private async syncRouteTables(ids: string[]): Promise<void> {
    const lines: string[] = [];
    const commits: (() => void)[] = [];
    for (const id of ids) {
      const rt = this.store.routeTables.get(id);
      const entry = this.tables.get(id);
      if (!rt) {
        if (entry) {
          lines.push(`route flush table ${entry.table}`);
          commits.push(() => this.tables.delete(id));
        }
        continue;
      }
      const t = entry ?? this.tableOf(id);
      const desired = desiredRouterRoutes(rt, (r) => this.store.routeNextHop(r), (s) => this.bridges.get(s));
      if (t.stale) lines.push(`route flush table ${t.table}`);
      lines.push(...routeDiffLines(t.stale ? new Map() : t.routes, desired, t.table));
      commits.push(() => {
        t.routes = new Map(desired.map((r) => [r.dst, r]));
        t.stale = false;
      });
    }
    if (!lines.length) {
      for (const c of commits) c();
      return;
    }
    try {
      await ipBatch(this.ns.router, lines, true);
      for (const c of commits) c();
    } catch (e) {
      // Some line failed: rebuild these tables from scratch next time.
      for (const id of ids) {
        const t = this.tables.get(id);
        if (t) t.stale = true;
        this.dirty.routeTables.add(id);
      }
      throw e;
    }
  }

  private async syncSubnetRules(): Promise<void> {
    const adds: string[] = [];
    const dels: string[] = [];
    const commits: (() => void)[] = [];
    const newTables: string[] = [];
    for (const s of this.store.subnets.values()) {
      const br = this.bridges.get(s.subnetId);
      if (!br) continue;
      const rt = this.store.effectiveRouteTable(s.subnetId);
      const cur = this.subnetRules.get(s.subnetId);
      if (rt && !this.tables.has(rt.routeTableId)) newTables.push(rt.routeTableId);
      const table = rt ? this.tableOf(rt.routeTableId).table : undefined;
      if (cur?.table === table) continue;
      let slot = this.subnetSlots.get(s.subnetId);
      if (slot === undefined) {
        slot = this.subnetSlots.size;
        this.subnetSlots.set(s.subnetId, slot);
      }
      const base = SUBNET_RULE_BASE + 2 * slot;
      const priority = cur?.priority === base ? base + 1 : base;
      // The new rule goes in before the old one leaves: no moment without a rule.
      if (table !== undefined) adds.push(`rule add priority ${priority} iif ${br} lookup ${table}`);
      if (cur) dels.push(`rule del priority ${cur.priority}`);
      commits.push(() => {
        if (table === undefined) this.subnetRules.delete(s.subnetId);
        else this.subnetRules.set(s.subnetId, { priority, table });
      });
    }
    if (newTables.length) await this.syncRouteTables(newTables);
    if (!adds.length && !dels.length) return;
    await ipBatch(this.ns.router, [...adds, ...dels], true).finally(() => {
      for (const c of commits) c();
    });
  }

  // ---- instances ---------------------------------------------------------------------

  private async createInstanceNamespaces(ids: string[]): Promise<void> {
    const todo = ids.filter((id) => {
      const inst = this.store.instances.get(id);
      return inst && inst.state !== 'terminated' && !this.instances.has(id);
    });
    await Promise.all(
      todo.map(async (id) => {
        const inst = this.store.instance(id);
        const ns = `${this.prefix}${this.instanceNames.get(id)}`;
        await this.addNamespace(ns, false);
        this.instances.set(id, { id, ns, role: inst.role, linksUp: false, frozen: false, bootstrapped: false, rules: new Map() });
        this.writeState();
      }),
    );
  }

  private enisIn(instanceId: string): EniMirror[] {
    const m = this.instances.get(instanceId);
    if (!m) return [];
    return [...this.enis.values()].filter((e) => e.ns === m.ns).sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
  }

  /** Links up when the instance is pending/running (and not held down by a kill). */
  private wantsUp(instanceId: string): boolean {
    const s = this.store.instances.get(instanceId)?.state;
    return (s === 'running' || s === 'pending') && !this.heldDown.has(instanceId);
  }

  private async syncInstance(id: string): Promise<void> {
    const inst = this.store.instances.get(id);
    const m = this.instances.get(id);
    if (!m) return;
    if (!inst || inst.state === 'terminated') {
      await this.removeInstance(m);
      return;
    }
    const stateUp = inst.state === 'running' || inst.state === 'pending';
    const up = this.wantsUp(id);
    const enis = this.enisIn(id);

    // Processes: frozen while stopping/stopped/shutting-down, thawed when it starts again.
    if (!stateUp && !m.frozen) {
      signalPids(await netnsPids(m.ns), 'SIGSTOP');
      m.frozen = true;
    }
    let thawed = false;
    if (stateUp && m.frozen) {
      signalPids(await netnsPids(m.ns), 'SIGCONT');
      m.frozen = false;
      thawed = true;
    }

    const lines = enis.map((e) => `link set dev ${e.ifname} ${up ? 'up' : 'down'}`);
    if (up) {
      const ifaces: InstanceIface[] = enis.flatMap((e) => {
        const subnet = this.store.subnets.get(e.subnetId);
        return subnet && e.deviceIndex !== undefined
          ? [{ deviceIndex: e.deviceIndex, ifname: e.ifname, ip: e.ip, subnetCidr: subnet.cidrBlock, gatewayIp: subnet.gatewayIp }]
          : [];
      });
      const plan = instanceRouting(m.role, ifaces);
      lines.push(...instanceRouteLines(plan));
      const rules = instanceRules(plan);
      for (const [prio, spec] of m.rules) if (rules.get(prio) !== spec) lines.push(`rule del priority ${prio}`);
      for (const [prio, spec] of rules) if (m.rules.get(prio) !== spec) lines.push(`rule add priority ${prio} ${spec}`);
      m.rules = rules;
    }
    if (lines.length) await ipBatch(m.ns, lines, true);
    m.linksUp = up;

    if (inst.state === 'running' && m.role === 'nat' && this.natBootstrap && !m.bootstrapped) {
      await sysctlIn(m.ns, { 'net.ipv4.ip_forward': 1 });
      await nftIn(m.ns, bootstrapRuleset(this.vpcCidr));
      m.bootstrapped = true;
    }
    if (up) await this.ensureForwarders(id, thawed);
  }

  private async removeInstance(m: InstanceMirror): Promise<void> {
    // ENIs that outlive the instance go to the park before the namespace (and its veths) goes.
    const leaving = [...this.enis.values()].filter((e) => e.ns === m.ns);
    const survivors = leaving.filter((e) => this.store.networkInterfaces.get(e.id));
    if (survivors.length) await this.moveEnis(survivors.map((e) => ({ eni: e, ns: this.ns.park, ifname: e.plink, instanceId: undefined, deviceIndex: undefined })));
    for (const e of leaving) if (!survivors.includes(e)) await this.deleteEniLinks([e]);
    for (const f of this.forwarders.values())
      if (f.instanceId === m.id) {
        f.stopped = true;
        this.killForwarder(f);
        this.forwarders.delete(f.key);
      }
    this.instances.delete(m.id);
    this.heldDown.delete(m.id);
    await deleteNetns(m.ns);
    this.writeState();
  }

  // ---- ENIs -------------------------------------------------------------------------------

  /** Where an ENI's instance end belongs now: the attached instance's namespace as eth<N>, else the park. */
  private placementOf(eniId: string, m: EniMirror): { ns: string; ifname: string; instanceId?: string; deviceIndex?: number } {
    const eni = this.store.networkInterfaces.get(eniId);
    const att = eni?.attachment;
    if (att?.status === 'attached') {
      const inst = this.store.instances.get(att.instanceId);
      const im = this.instances.get(att.instanceId);
      if (inst && inst.state !== 'terminated' && im) return { ns: im.ns, ifname: `eth${att.deviceIndex}`, instanceId: att.instanceId, deviceIndex: att.deviceIndex };
    }
    return { ns: this.ns.park, ifname: m.plink };
  }

  private async syncEnis(ids: string[], dirtyInstances: Set<string>, touched: Set<string>): Promise<void> {
    // Also re-place the ENIs of dirty instances (a namespace that just appeared).
    const all = new Set(ids);
    for (const e of this.enis.values()) if (e.instanceId && dirtyInstances.has(e.instanceId)) all.add(e.id);
    for (const id of dirtyInstances) for (const e of this.store.interfacesOf(id)) all.add(e.networkInterfaceId);

    // 1. Deleted ENIs lose their veth; new ones get one (instance end parked, down).
    const gone = [...all].filter((id) => !this.store.networkInterfaces.get(id) && this.enis.has(id)).map((id) => this.enis.get(id)!);
    for (const e of gone) if (e.instanceId) touched.add(e.instanceId);
    if (gone.length) await this.deleteEniLinks(gone);
    const fresh = [...all].filter((id) => this.store.networkInterfaces.get(id) && !this.enis.has(id));
    if (fresh.length) await this.createEniLinks(fresh);

    // 2. Moves.
    const moves: Parameters<DataPlane['moveEnis']>[0] = [];
    for (const id of all) {
      const m = this.enis.get(id);
      if (!m) continue;
      const want = this.placementOf(id, m);
      if (want.ns === m.ns && want.ifname === m.ifname) continue;
      if (m.instanceId) touched.add(m.instanceId);
      if (want.instanceId) touched.add(want.instanceId);
      moves.push({ eni: m, ns: want.ns, ifname: want.ifname, instanceId: want.instanceId, deviceIndex: want.deviceIndex });
    }
    if (moves.length) await this.moveEnis(moves);
  }

  private async createEniLinks(ids: string[]): Promise<void> {
    const lines: string[] = [];
    const made: EniMirror[] = [];
    for (const id of ids) {
      const eni = this.store.networkInterface(id);
      const br = this.bridges.get(eni.subnetId);
      if (!br) {
        this.log({ level: 'error', event: 'dataplane.eni-without-bridge', eni: id, subnet: eni.subnetId });
        continue;
      }
      const short = this.eniNames.get(id);
      const m: EniMirror = {
        id,
        subnetId: eni.subnetId,
        ip: eni.privateIpAddress,
        mac: eni.macAddress,
        prefixLen: parseCidr(this.store.subnet(eni.subnetId).cidrBlock).bits,
        rlink: eniRouterLink(short),
        plink: eniParkedLink(short),
        ns: this.ns.park,
        ifname: eniParkedLink(short),
      };
      lines.push(
        `link add ${m.rlink} type veth peer name ${m.plink} address ${m.mac} netns ${this.ns.park}`,
        `link set ${m.rlink} master ${br} up`,
        // The VPC knows every ENI's MAC: no ARP needed, and the entry stays valid as the ENI moves.
        `neigh replace ${m.ip} lladdr ${m.mac} dev ${br} nud permanent`,
      );
      made.push(m);
    }
    if (!lines.length) return;
    try {
      await ipBatch(this.ns.router, lines, true);
    } finally {
      // Record what the kernel now has, even when one line failed (the next pass corrects the rest).
      const links = await this.linkNames(this.ns.router);
      for (const m of made) if (links.has(m.rlink)) this.enis.set(m.id, m);
    }
  }

  private async deleteEniLinks(gone: EniMirror[]): Promise<void> {
    const lines: string[] = [];
    for (const e of gone) {
      lines.push(`link del ${e.rlink}`);
      const br = this.bridges.get(e.subnetId);
      if (br) lines.push(`neigh del ${e.ip} dev ${br}`);
      this.enis.delete(e.id);
    }
    await ipBatch(this.ns.router, lines, true).catch((err: unknown) => {
      // Deleting what is already gone (the namespace went first) is fine.
      if (!(err instanceof CommandError) || !/Cannot find device|No such/.test(err.result.stderr)) throw err;
    });
  }

  /**
   * Moves instance ends between namespaces, batching by namespace: one `ip -batch` per
   * source namespace (down, rename to the parked name, move), then one per target
   * (rename to eth<N>, address, up when the instance is up). The MAC travels with the link.
   */
  private async moveEnis(moves: { eni: EniMirror; ns: string; ifname: string; instanceId: string | undefined; deviceIndex: number | undefined }[]): Promise<void> {
    const leave = new Map<string, string[]>();
    const arrive = new Map<string, string[]>();
    for (const mv of moves) {
      const e = mv.eni;
      const out = leave.get(e.ns) ?? [];
      out.push(`link set dev ${e.ifname} down`);
      if (e.ifname !== e.plink) out.push(`link set dev ${e.ifname} name ${e.plink}`);
      out.push(`link set dev ${e.plink} netns ${mv.ns}`);
      leave.set(e.ns, out);
      const inn = arrive.get(mv.ns) ?? [];
      if (mv.ifname !== e.plink) inn.push(`link set dev ${e.plink} name ${mv.ifname}`);
      if (mv.instanceId) {
        inn.push(`addr replace ${e.ip}/${e.prefixLen} dev ${mv.ifname}`);
        if (this.wantsUp(mv.instanceId)) inn.push(`link set dev ${mv.ifname} up`);
      }
      arrive.set(mv.ns, inn);
    }
    const errors: unknown[] = [];
    await Promise.all([...leave].map(([ns, lines]) => ipBatch(ns, lines, true).catch((e: unknown) => errors.push(e))));
    await Promise.all([...arrive].map(([ns, lines]) => ipBatch(ns, lines, true).catch((e: unknown) => errors.push(e))));
    if (errors.length) {
      await this.relocateEnis(moves.map((m) => m.eni));
      throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
    }
    for (const mv of moves) {
      mv.eni.ns = mv.ns;
      mv.eni.ifname = mv.ifname;
      mv.eni.instanceId = mv.instanceId;
      mv.eni.deviceIndex = mv.deviceIndex;
    }
  }

  /** After a failed move: find each ENI's instance end by its MAC and record where it really is. */
  private async relocateEnis(enis: EniMirror[]): Promise<void> {
    const byMac = new Map(enis.map((e) => [e.mac.toLowerCase(), e]));
    const owners = new Map<string, InstanceMirror>([...this.instances.values()].map((m) => [m.ns, m]));
    for (const ns of [this.ns.park, ...owners.keys()]) {
      const r = await run(['ip', '-j', '-n', ns, 'link', 'show'], { helper: true });
      if (r.code !== 0) continue;
      for (const l of JSON.parse(r.stdout || '[]') as { ifname: string; address?: string }[]) {
        const e = l.address ? byMac.get(l.address.toLowerCase()) : undefined;
        if (!e) continue;
        e.ns = ns;
        e.ifname = l.ifname;
        const att = this.store.networkInterfaces.get(e.id)?.attachment;
        const owner = owners.get(ns);
        e.instanceId = owner?.id;
        e.deviceIndex = owner && att?.instanceId === owner.id ? att.deviceIndex : undefined;
      }
    }
  }

  private async linkNames(ns: string): Promise<Set<string>> {
    const r = await run(['ip', '-j', '-n', ns, 'link', 'show'], { helper: true });
    if (r.code !== 0) return new Set();
    return new Set((JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname));
  }

  // ---- internet gateway and source/dest check -----------------------------------------------

  private async syncIgw(): Promise<void> {
    const desired = new Map<string, string>();
    for (const a of this.store.addresses.values()) if (a.privateIpAddress) desired.set(a.publicIp, a.privateIpAddress);
    const script = igwMapUpdate(this.igwApplied, desired);
    if (!script) return;
    try {
      await nftIn(this.ns.igw, script);
    } catch (e) {
      // Element-level update failed (the maps drifted): reload the whole table.
      this.log({ level: 'warn', event: 'dataplane.igw-reload', error: String(e) });
      await nftIn(this.ns.igw, igwRuleset(this.vpcCidr, desired));
    }
    this.igwApplied = desired;
  }

  private async syncSdc(): Promise<void> {
    const checked: { port: string; ip: string }[] = [];
    for (const m of this.enis.values()) {
      const eni = this.store.networkInterfaces.get(m.id);
      if (eni?.sourceDestCheck) checked.push({ port: m.rlink, ip: m.ip });
    }
    checked.sort((a, b) => a.port.localeCompare(b.port));
    const script = sdcSetsUpdate(checked);
    if (script === this.sdcApplied) return;
    await nftIn(this.ns.router, script);
    this.sdcApplied = script;
  }

  // ---- processes: echo server, forwarders -----------------------------------------------------

  private async startEchoServer(script: string): Promise<void> {
    const { echoTargets, echoPort } = this.topology.internet;
    const child = spawn('ip', ['netns', 'exec', this.ns.inet, process.execPath, script, '--port', String(echoPort), '--targets', echoTargets.join(',')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.echoServer = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the echo server did not start within 5 s: ${stderr.trim()}`)), 5000);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the echo server exited (${code}): ${stderr.trim()}`));
      });
    });
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => {
      if (!this.closed) this.log({ level: 'error', event: 'dataplane.echo-server-exited', code, signal, stderr: stderr.slice(-500) });
    });
  }

  private async launchForwarder(f: ForwarderEntry): Promise<void> {
    if (f.stopped) return;
    const m = this.instances.get(f.instanceId);
    if (!m) throw new Error(`the lab data plane has no namespace for instance ${f.instanceId} (unknown or terminated)`);
    await ip(m.ns, 'addr', 'replace', `${f.listen.ip}/32`, 'dev', 'lo');
    const child = spawn(
      'ip',
      ['netns', 'exec', m.ns, 'socat', `TCP-LISTEN:${f.listen.port},bind=${f.listen.ip},fork,reuseaddr`, `UNIX-CONNECT:${f.unixSocketPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    f.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (!f.stopped && !this.closed && f.child === child)
        this.log({ level: 'warn', event: 'dataplane.forwarder-exited', instance: f.instanceId, listen: `${f.listen.ip}:${f.listen.port}`, code, signal, stderr });
    });
    const deadline = performance.now() + 3000;
    while (!(await isListening(child.pid, f.listen.ip, f.listen.port))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the forwarder in ${m.ns} exited: ${stderr.trim()}`);
      if (performance.now() > deadline) throw new Error(`the forwarder in ${m.ns} is not listening on ${f.listen.ip}:${f.listen.port} after 3 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // A stopped instance's processes are all frozen; this one too, until it starts again.
    if (m.frozen && child.pid) signalPids([child.pid], 'SIGSTOP');
  }

  private killForwarder(f: ForwarderEntry): void {
    const child = f.child;
    f.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      // A stopped (SIGSTOP) process still dies of SIGKILL.
      child.kill('SIGKILL');
    }
  }

  /** Restarts the instance's forwarders (all of them after a thaw; otherwise the ones that died). */
  private async ensureForwarders(instanceId: string, restartAll: boolean): Promise<void> {
    for (const f of this.forwarders.values()) {
      if (f.instanceId !== instanceId || f.stopped) continue;
      const alive = f.child && f.child.exitCode === null && f.child.signalCode === null;
      if (alive && !restartAll) continue;
      this.killForwarder(f);
      await this.launchForwarder(f);
    }
  }

  private async stopForwarder(f: ForwarderEntry): Promise<void> {
    f.stopped = true;
    this.killForwarder(f);
    this.forwarders.delete(f.key);
  }

  // ---- state file ------------------------------------------------------------------------

  private writeState(): void {
    if (!this.runDir) return;
    const state: DataPlaneState = { prefix: this.prefix, pid: process.pid, startedAt: new Date().toISOString(), namespaces: this.namespaces() };
    try {
      mkdirSync(this.runDir, { recursive: true });
      writeFileSync(join(this.runDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    } catch (e) {
      this.log({ level: 'warn', event: 'dataplane.state-file-failed', error: String(e) });
    }
  }

  /** For tests and tools: the kernel table number mirroring an emulated route table. */
  kernelTableOf(routeTableId: string): number | undefined {
    return this.tables.get(routeTableId)?.table;
  }

  /** True once create() finished. */
  get ready(): boolean {
    return this.built && !this.closed;
  }

  /**
   * Hard failure, now: the instance's links go down and every process in its namespace
   * is SIGKILLed (forwarders included). The links stay down until the instance leaves
   * running (its next start brings them up) or holdDown(id, false).
   */
  async killInstance(instanceId: string): Promise<void> {
    const ns = this.requireNs(instanceId);
    this.heldDown.add(instanceId);
    await this.queue.run(`kill ${instanceId}`, async () => {
      for (const f of this.forwarders.values()) if (f.instanceId === instanceId) this.killForwarder(f);
      const lines = this.enisIn(instanceId).map((e) => `link set dev ${e.ifname} down`);
      try {
        if (lines.length) await ipBatch(ns, lines, true);
      } finally {
        await killNetnsProcesses(ns, 1000);
        const m = this.instances.get(instanceId);
        if (m) m.linksUp = false;
      }
    });
  }
}

async function runCheckedIp(args: string[]): Promise<void> {
  const r = await run(['ip', ...args]);
  if (r.code !== 0) throw new CommandError(['ip', ...args], r);
}

/** Whether process `pid` (seen through its own network namespace) listens on ip:port. */
async function isListening(pid: number | undefined, ipAddr: string, port: number): Promise<boolean> {
  if (!pid) return false;
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/tcp`, 'utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[3] !== '0A') continue; // LISTEN
    const [addrHex, portHex] = (cols[1] ?? '').split(':');
    if (!addrHex || !portHex || parseInt(portHex, 16) !== port) continue;
    const n = parseInt(addrHex, 16);
    // /proc shows the address as a host-order number of the network-order bytes (little-endian hosts).
    const addr = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
    if (addr === ipAddr || addr === '0.0.0.0') return true;
  }
  return false;
}

// ---- standalone helpers -----------------------------------------------------------------

/**
 * Removes every network namespace whose name starts with `prefix`, killing their
 * processes first (crash recovery: a lab that died without tearing down).
 */
export async function teardownLab(prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const mine = (await listNetns()).filter((n) => n.startsWith(prefix));
  const infra = new Set(Object.values(infraNamespaces(prefix)));
  // Instances and the park first (their veths die with them), then igw/inet, the router last.
  const order = (n: string) => (n === `${prefix}router` ? 3 : infra.has(n) ? (n === `${prefix}park` ? 1 : 2) : 0);
  for (const rank of [0, 1, 2, 3]) await Promise.all(mine.filter((n) => order(n) === rank).map((n) => deleteNetns(n)));
  return mine;
}

/** The state file a data plane keeps in its runDir, if any. */
export function readDataPlaneState(runDir: string): DataPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, STATE_FILE), 'utf8')) as DataPlaneState;
  } catch {
    return undefined;
  }
}

/** Crash recovery from a runDir: tears down the lab its state file names and removes the file. */
export async function teardownFromState(runDir: string): Promise<string[]> {
  const state = readDataPlaneState(runDir);
  if (!state) return [];
  const removed = await teardownLab(state.prefix);
  rmSync(join(runDir, STATE_FILE), { force: true });
  return removed;
}

/**
 * Whether this process may build the data plane: tries to create and delete a
 * throwaway network namespace, and checks the tools are installed.
 */
export async function canUseNetns(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['socat', ['-V']],
    ['nsenter', ['--version']],
  ] as const) {
    const r = await run([tool, ...args], { timeoutMs: 5000 });
    if (r.code === 127) return { ok: false, reason: `${tool} is not installed (scripts/install-deps.sh installs it)` };
  }
  const probe = `nkprobe${Math.floor(Math.random() * 0xffffff).toString(16)}`;
  const add = await run(['ip', 'netns', 'add', probe], { timeoutMs: 5000 });
  if (add.code !== 0)
    return { ok: false, reason: `cannot create a network namespace (${add.stderr.trim() || `exit ${add.code}`}): the lab data plane needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)` };
  await run(['ip', 'netns', 'del', probe], { timeoutMs: 5000 });
  return { ok: true };
}

