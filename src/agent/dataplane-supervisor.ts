// The agent's data plane: resolve the egress interfaces by MAC (IMDS), apply, self-test;
// retry the whole setup while it fails; once it passed, verify it periodically and report
// drift (e.g. forwarding turned off, natkeeper's table deleted) as a failed self-test.
// Drift is reported, not repaired: the node stops reporting healthy and says why.
import type { AgentDataplaneConfig } from '../config/agent-config.js';
import type { Clock } from '../domain/clock.js';
import { validateConfig } from '../dataplane/config.js';
import { apply, formatDifferences, selfTest, verify, type Probe } from '../dataplane/executor.js';
import { listLinks, resolveEgressInterfaces, type ResolveOptions } from '../dataplane/interfaces.js';
import { planDataplane, type DataplanePlan } from '../dataplane/plan.js';
import { readdir } from 'node:fs/promises';
import { isLocalRunner, type Runner } from '../dataplane/runner.js';
import type { StateStore } from '../dataplane/state.js';
import { sysctlReaderFor, type SysctlReader } from '../dataplane/sysctl.js';
import type { ImdsInterface } from '../aws/imds.js';
import type { Logger } from '../telemetry/logger.js';
import type { StepState, StepStatus } from './status.js';

export const DEFAULT_SETUP_RETRY_MS = 5_000;
/**
 * The drift check: it only gives a precise reason (the data path itself is probed
 * continuously), so it runs seldom. Each run reads the planned sysctls and conntrack
 * from /proc/sys and spawns one `nft -j list table`.
 */
export const DEFAULT_VERIFY_EVERY_MS = 10_000;

export interface ConntrackReading {
  entries?: number;
  max?: number;
}

export interface DataplaneSupervisorOptions {
  config: AgentDataplaneConfig;
  runner: Runner;
  /** The instance's ENIs (ImdsClient.networkInterfaces). */
  interfaces: () => Promise<ImdsInterface[]>;
  clock: Clock;
  logger: Logger;
  state?: StateStore;
  /** EC2-side steps before the kernel setup (source/dest check off, the floating ENI); a throw fails the setup attempt. */
  prepare?: () => Promise<void>;
  /** A probe through this node, part of the self-test. */
  probe?: Probe;
  /** Wait before retrying a failed setup. Default 5 s. */
  retryMs?: number;
  /** Interval of the drift check (and conntrack reading) after a passed setup. Default 10 s. */
  verifyEveryMs?: number;
  /** How sysctls are read for the drift check and conntrack; default /proc/sys for the local runner, `sysctl -n` through others. */
  sysctl?: SysctlReader;
  resolve?: ResolveOptions;
  onConntrack?: (r: ConntrackReading) => void;
  /** The kernel's interface names (default: /sys/class/net for the local runner, `ip -j link` otherwise). */
  links?: () => Promise<string[]>;
  /**
   * How often the interface list is read. An ENI attached or detached (the floating ENI
   * moving here or away) changes the egress interfaces: setup runs again at once instead of
   * reporting drift, so masquerade covers a new ENI within this interval. Default 100 ms (a readdir of
   * /sys/class/net: microseconds), since it adds to the outage of every eni-move.
   */
  linkPollMs?: number;
}

export interface DataplaneSupervisor {
  /** Runs the first setup attempt (resolves when it is done, passed or not), then keeps going. */
  start(): Promise<void>;
  /** Stops the loop and waits for a running step; leaves the data plane in place. */
  stop(): Promise<void>;
  setup(): StepStatus;
  selfTest(): StepStatus;
  plan(): DataplanePlan | undefined;
  /** Resolves true once setup and self-test have passed; false if `signal` aborts first. */
  established(signal?: AbortSignal): Promise<boolean>;
}

export function createDataplaneSupervisor(opts: DataplaneSupervisorOptions): DataplaneSupervisor {
  const log = opts.logger;
  const retryMs = opts.retryMs ?? DEFAULT_SETUP_RETRY_MS;
  const verifyEveryMs = opts.verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS;
  const readSysctl = opts.sysctl ?? sysctlReaderFor(opts.runner);
  let setupStatus: StepStatus = { state: 'pending', at: opts.clock.now() };
  let testStatus: StepStatus = { state: 'pending', at: opts.clock.now() };
  let plan: DataplanePlan | undefined;
  let established = false;
  // Interfaces natkeeper made itself (the probe veth) and lo never change the plan.
  const linksKey = (names: string[]) => names.filter((n) => n !== 'lo' && !n.startsWith('nkself')).sort().join(',');
  const readLinks = opts.links ?? (isLocalRunner(opts.runner) ? () => readdir('/sys/class/net') : async () => (await listLinks(opts.runner)).map((l) => l.ifname));
  let plannedLinks: string | undefined;
  let linkTimer: ReturnType<typeof setInterval> | undefined;
  const waiters = new Set<() => void>();
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> = Promise.resolve();

  const set = (which: 'setup' | 'selfTest', state: StepState, reason?: string) => {
    const prev = which === 'setup' ? setupStatus : testStatus;
    if (prev.state === state && prev.reason === reason) return;
    const next: StepStatus = { state, at: opts.clock.now(), ...(reason !== undefined ? { reason } : {}) };
    if (which === 'setup') setupStatus = next;
    else testStatus = next;
    const level = state === 'failed' ? 'warn' : 'info';
    log[level](`dataplane_${which === 'setup' ? 'setup' : 'selftest'}_${state}`, reason !== undefined ? { reason } : {});
  };

  async function buildPlan(): Promise<DataplanePlan> {
    const c = opts.config;
    let egress = c.egressInterfaces;
    let exclude = c.excludeDestinations;
    if (!egress || !exclude) {
      const list = await opts.interfaces();
      if (!egress) egress = (await resolveEgressInterfaces(opts.interfaces, () => listLinks(opts.runner), opts.resolve)).map((r) => r.name);
      exclude ??= [...new Set(list.flatMap((i) => i.vpcCidrs))];
    }
    return planDataplane(validateConfig({ egressInterfaces: egress, excludeDestinations: exclude, conntrack: c.conntrack, rpFilter: c.rpFilter }));
  }

  async function trySetup(): Promise<void> {
    set('setup', 'running');
    try {
      await opts.prepare?.();
      const links = linksKey(await readLinks().catch(() => []));
      plan = await buildPlan();
      plannedLinks = links;
    } catch (e) {
      set('setup', 'failed', `setup failed: ${(e as Error).message}`);
      return;
    }
    const a = await apply(plan, opts.runner, opts.state ? { state: opts.state } : {});
    if (!a.ok) {
      set('setup', 'failed', `setup failed: ${a.reason ?? 'unknown'}`);
      return;
    }
    set('setup', 'passed');
    log.info('dataplane_applied', { changed: a.changed, egressInterfaces: plan.config.egressInterfaces });
    set('selfTest', 'running');
    const t = await selfTest(plan, opts.runner, opts.probe);
    if (!t.ok) {
      set('selfTest', 'failed', t.reason ?? 'self-test failed');
      return;
    }
    set('selfTest', 'passed');
    established = true;
    for (const w of [...waiters]) w();
  }

  async function checkDrift(p: DataplanePlan): Promise<void> {
    try {
      const v = await verify(p, opts.runner, { sysctl: readSysctl });
      if (v.ok) set('selfTest', 'passed');
      else set('selfTest', 'failed', `self-test failed: data plane changed since setup: ${formatDifferences(v.differences)}`);
    } catch (e) {
      set('selfTest', 'failed', `self-test failed: could not verify the data plane: ${(e as Error).message}`);
    }
  }

  async function readConntrack(): Promise<void> {
    if (!opts.onConntrack) return;
    const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
    const entries = num(await readSysctl('net.netfilter.nf_conntrack_count'));
    const max = num(await readSysctl('net.netfilter.nf_conntrack_max'));
    opts.onConntrack({ ...(entries !== undefined ? { entries } : {}), ...(max !== undefined ? { max } : {}) });
  }

  async function step(): Promise<void> {
    try {
      if (!established) await trySetup();
      else if (plan) await checkDrift(plan);
      await readConntrack();
    } catch (e) {
      log.error('dataplane_step_failed', { error: e as Error });
    }
  }

  /** Runs a step now (after the one in progress) when the interfaces differ from the plan's. */
  async function checkLinks(): Promise<void> {
    if (!running || !established || plannedLinks === undefined || opts.config.egressInterfaces) return;
    const now = linksKey(await readLinks().catch(() => []));
    if (now === plannedLinks || !now) return;
    log.info('dataplane_interfaces_changed', { before: plannedLinks, after: now });
    plannedLinks = undefined;
    established = false;
    if (timer) clearTimeout(timer);
    timer = undefined;
    current = current.then(step).then(loop);
  }

  const loop = () => {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!running) return;
      current = step().then(loop);
    }, established ? verifyEveryMs : retryMs);
  };

  return {
    async start() {
      if (running) return;
      running = true;
      current = step();
      await current;
      loop();
      linkTimer = setInterval(() => void checkLinks(), opts.linkPollMs ?? 100);
    },
    async stop() {
      running = false;
      if (linkTimer) clearInterval(linkTimer);
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
    },
    setup: () => ({ ...setupStatus }),
    selfTest: () => ({ ...testStatus }),
    plan: () => plan,
    established(signal) {
      if (established) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          waiters.delete(onPass);
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        };
        const onPass = () => done(true);
        const onAbort = () => done(false);
        if (signal?.aborted) return resolve(false);
        waiters.add(onPass);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
