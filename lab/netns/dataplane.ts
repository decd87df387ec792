// The lab's data plane: mirrors the emulated VPC into Linux network namespaces
// (router, igw, inet, park, and one per instance: see infra.ts).
//
// Reflection is level-triggered: each LabChange marks objects dirty, and one
// queued reconcile pass compares the store's current state with what it applied
// last and sends the difference to the kernel (ip -batch, nft -f). Passes run one
// at a time, so repeated changes coalesce; a failing command is logged and the
// pass carries on.
//
// This file is the facade: the public API, change intake and the reconcile pass. The
// kernel work is in the *-sync.ts modules, infra.ts and processes.ts (state: mirror.ts).
//
// Network safety: nothing here links a lab namespace to the host's namespace, and
// no namespace gets a route to anything but lab addresses (the router's tables
// mirror the emulated ones and end at the igw, which routes only the VPC and the
// echo targets; the internet namespace routes only the EIP pool back).

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { DataPlaneFaults } from '../chaos/dataplane-faults.js';
import type { LabChange, LabStore } from '../emulator/store.js';
import type { LabManifest } from '../topology/build.js';
import type { Topology } from '../topology/schema.js';
import { ChangeTimings, type ChangeTiming } from './change-timings.js';
import { logFunction, type DataPlaneLog } from './dataplane-log.js';
import type { DataPlaneOptions, ExecOptions } from './dataplane-options.js';
import { DirtySet } from './dirty-set.js';
import { EdgeSync } from './edge-sync.js';
import { EniSync } from './eni-sync.js';
import { netnsPids, nftIn, run, type RunResult } from './exec.js';
import { Infra, assertPrefixFree, teardownLab } from './infra.js';
import { InstanceSync } from './instance-sync.js';
import { KernelMirror } from './mirror.js';
import { checkPrefix, infraNamespaces, randomPrefix, type InfraNamespaces } from './names.js';
import { distScript, repoRoot } from './paths.js';
import { canUseNetns } from './preflight.js';
import { EchoServerProcess, Forwarders, type Forwarder } from './processes.js';
import { OpQueue } from './queue.js';
import { PassRetry, PassSteps } from './reconcile-steps.js';
import { RouterSync, splitRouteTables } from './router-sync.js';
import { removeDataPlaneState, writeDataPlaneState } from './state-file.js';

export type { ChangeTiming } from './change-timings.js';
export type { DataPlaneLogEntry } from './dataplane-log.js';
export type { DataPlaneOptions, ExecOptions } from './dataplane-options.js';
export type { Forwarder } from './processes.js';
export type { DataPlaneState } from './state-file.js';
export { canUseNetns } from './preflight.js';
export { teardownLab } from './infra.js';
export { readDataPlaneState, teardownFromState } from './state-file.js';

export class DataPlane {
  readonly prefix: string;
  readonly ns: InfraNamespaces;
  readonly store: LabStore;
  readonly topology: Topology;
  readonly manifest: LabManifest;
  readonly vpcCidr: string;
  /** Data-plane fault injection (chaos verbs). */
  readonly faults: DataPlaneFaults;
  private readonly log: DataPlaneLog;
  private readonly runDir: string | undefined;
  private readonly queue: OpQueue;
  private readonly mirror = new KernelMirror();
  private readonly infra: Infra;
  private readonly router: RouterSync;
  private readonly eniSync: EniSync;
  private readonly instanceSync: InstanceSync;
  private readonly edge: EdgeSync;
  private readonly forwarders: Forwarders;
  private readonly echoServer = new EchoServerProcess();
  private readonly placementListeners = new Set<() => Promise<void>>();

  private readonly dirty = new DirtySet();
  private reconcileQueued = false;
  private readonly retry: PassRetry;
  private readonly timings = new ChangeTimings();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private built = false;
  /** The failed steps of the latest reconcile pass (empty when it went through). */
  private lastPassFailures: string[] = [];

  private constructor(opts: DataPlaneOptions) {
    this.store = opts.store;
    this.topology = opts.topology;
    this.manifest = opts.manifest;
    this.prefix = checkPrefix(opts.prefix ?? randomPrefix());
    this.ns = infraNamespaces(this.prefix);
    this.vpcCidr = this.store.vpc(opts.manifest.vpcId).cidrBlock;
    this.log = logFunction(opts.log);
    this.runDir = opts.runDir;
    this.queue = new OpQueue((label, e) => this.log({ level: 'error', event: 'dataplane.job-failed', job: label, error: String(e) }));
    const ctx = { store: this.store, ns: this.ns, vpcCidr: this.vpcCidr, mirror: this.mirror, log: this.log, saveState: () => this.writeState() };
    this.infra = new Infra(ctx, this.topology.internet);
    this.retry = new PassRetry(this.log, () => this.closed, this.dirty, () => this.scheduleReconcile());
    this.router = new RouterSync(ctx, (id) => this.dirty.routeTables.add(id));
    this.eniSync = new EniSync(ctx);
    this.edge = new EdgeSync(ctx);
    this.forwarders = new Forwarders(ctx, (label, fn) => this.queue.run(label, fn), () => this.closed);
    this.instanceSync = new InstanceSync(ctx, { prefix: this.prefix, natBootstrap: opts.natBootstrap ?? true, eniSync: this.eniSync, forwarders: this.forwarders });
    this.faults = new DataPlaneFaults(this);
  }

  /** Whether this process may build a data plane (see canUseNetns). */
  static canUseNetns(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return canUseNetns();
  }

  /** Builds the data plane from the store's current state and starts reflecting its changes. */
  static async create(opts: DataPlaneOptions): Promise<DataPlane> {
    const dp = new DataPlane(opts);
    await assertPrefixFree(dp.prefix);
    // The echo server must be built before anything is created.
    const echoServer = distScript('echo-server', repoRoot());
    try {
      dp.writeState();
      dp.unsubscribe = dp.store.onChange((c) => dp.onChange(c));
      await dp.queue.run('build-infra', () => dp.infra.build());
      // The initial build must go through (one more full pass for a transient failure):
      // a lab that reports itself up with half its namespaces missing misleads every test.
      for (let attempt = 1; ; attempt++) {
        dp.dirty.markAll(dp.store);
        dp.scheduleReconcile();
        await dp.settled();
        if (dp.lastPassFailures.length === 0) break;
        if (attempt === 2) throw new Error(`building the lab data plane failed: ${dp.lastPassFailures.join('; ')}`);
      }
      await dp.echoServer.start(dp.ns.inet, dp.topology.internet, echoServer, dp.log, () => dp.closed);
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
    return this.mirror.instances.get(instanceId)?.ns;
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
    return [this.ns.router, this.ns.igw, this.ns.inet, this.ns.park, ...[...this.mirror.instances.values()].map((m) => m.ns)];
  }

  /** Starts argv inside the instance's namespace (`ip netns exec`). */
  spawnIn(instanceId: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return this.spawnInNs(this.requireNs(instanceId), argv, opts);
  }

  spawnInNs(ns: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.ownNs(ns), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  }

  /** Runs argv inside the instance's namespace to completion. */
  exec(instanceId: string, argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.execNs(this.requireNs(instanceId), argv, opts);
  }

  execNs(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.ownNs(ns), ...argv], opts);
  }

  /** ns, checked to be one of this lab's namespaces. */
  private ownNs(ns: string): string {
    if (!this.namespaces().includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
    return ns;
  }

  /** Resolves when every queued kernel operation (and every change announced so far) has been applied. */
  async settled(): Promise<void> {
    while (!this.queue.idle || this.reconcileQueued) await this.queue.settled();
  }

  /** Per-change reflection timings (store change → kernel applied), oldest first. */
  changeTimings(): ChangeTiming[] {
    return this.timings.list();
  }

  clearChangeTimings(): void {
    this.timings.clear();
  }

  /**
   * Serves a unix socket inside an instance at listen (e.g. 169.254.169.254:80), with socat;
   * restarted whenever the instance starts again (see Forwarders.start).
   */
  startForwarder(instanceId: string, listen: { ip: string; port: number }, unixSocketPath: string): Promise<Forwarder> {
    return this.forwarders.start(instanceId, listen, unixSocketPath);
  }

  /** Stops reflecting, kills every process in the lab's namespaces and removes them. */
  async teardown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    await Promise.race([this.queue.settled(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    this.forwarders.stopAll();
    this.echoServer.kill();
    await teardownLab(this.prefix);
    this.mirror.instances.clear();
    this.mirror.enis.clear();
    if (this.runDir) removeDataPlaneState(this.runDir);
  }

  /** For tests and tools: the kernel table number mirroring an emulated route table. */
  kernelTableOf(routeTableId: string): number | undefined {
    return this.router.kernelTableOf(routeTableId);
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
    this.mirror.heldDown.add(instanceId);
    await this.queue.run(`kill ${instanceId}`, () => this.instanceSync.kill(instanceId, ns));
  }

  // ---- hooks for chaos (lab/chaos/dataplane-faults.ts) ------------------------------

  /** Runs a kernel operation in the data plane's queue, after everything queued before it. */
  enqueue<T>(label: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(label, fn);
  }

  /** Router-side bridge ports (veth ends) of the ENIs now in the instance's namespace. */
  portsOf(instanceId: string): string[] {
    return this.mirror.enisIn(instanceId).map((e) => e.rlink);
  }

  /** Private IPs of the ENIs now in the instance's namespace. */
  addressesOf(instanceId: string): string[] {
    return this.mirror.enisIn(instanceId).map((e) => e.ip);
  }

  /** The instance-side interface names (eth<N>) now in its namespace. */
  interfacesOf(instanceId: string): string[] {
    return this.mirror.enisIn(instanceId).map((e) => e.ifname);
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
    if (held) this.mirror.heldDown.add(instanceId);
    else this.mirror.heldDown.delete(instanceId);
    this.dirty.instances.add(instanceId);
    this.scheduleReconcile();
    await this.settled();
  }

  isHeldDown(instanceId: string): boolean {
    return this.mirror.heldDown.has(instanceId);
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
      this.timings.announce(c);
      if (!this.dirty.mark(c, this.store)) {
        this.timings.withdrawLast();
        return;
      }
      if (c.kind === 'instance-state' && c.to !== 'running' && c.to !== 'pending') this.mirror.heldDown.delete(c.instanceId);
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
    const d = this.dirty.take();
    const changes = this.timings.takePending();

    // Routes go first (they are what a route-replace failover waits on), except those
    // through an ENI this pass still places (see splitRouteTables).
    const steps = new PassSteps(this.log);
    const { early, late } = splitRouteTables(this.store, d);
    const earlySet = new Set(early);

    await steps.run('bridges', () => this.infra.ensureBridges());
    if (early.length) await steps.run('route-tables', () => this.router.syncRouteTables(early));
    if (d.rules) await steps.run('subnet-rules', () => this.router.syncSubnetRules());
    this.timings.record(changes.filter((c) => c.kind === 'route-table' && earlySet.has(c.id)), steps.ok);
    await steps.run('instance-namespaces', () => this.instanceSync.createNamespaces([...d.instances]));
    const touched = new Set<string>();
    await steps.run('enis', () => this.eniSync.sync([...d.enis], d.instances, touched));
    for (const id of touched) d.instances.add(id);
    for (const id of d.instances) await steps.run(`instance ${id}`, () => this.instanceSync.sync(id));
    if (late.length) await steps.run('route-tables (after ENI placement)', () => this.router.syncRouteTables(late));
    this.timings.record(changes.filter((c) => c.kind === 'route-table' && !earlySet.has(c.id)), steps.ok);
    if (d.addresses) await steps.run('igw', () => this.edge.syncIgw());
    if (d.sdc || touched.size) await steps.run('source-dest-check', () => this.edge.syncSourceDestCheck());
    if (touched.size)
      for (const fn of this.placementListeners) await steps.run('placement-listener', fn);

    this.timings.record(changes.filter((c) => c.kind !== 'route-table'), steps.ok);
    this.timings.trim();
    this.lastPassFailures = steps.failures;
    this.retry.passed(steps.ok, d);
  }

  // ---- state file ------------------------------------------------------------------------

  private writeState(): void {
    if (this.runDir) writeDataPlaneState(this.runDir, this.prefix, this.namespaces(), this.log);
  }
}
