// Shared setup for the data-plane e2e tests: a lab built from the default topology
// with fast realism timings, its data plane under a unique prefix, and helpers to
// ask the echo server which address an instance's traffic left by.

import { randomBytes } from 'node:crypto';
import { systemClock } from '../../lab/emulator/clock.js';
import type { LabChange, LabStore } from '../../lab/emulator/store.js';
import { DataPlane, canUseNetns, teardownLab } from '../../lab/netns/dataplane.js';
import { run, type RunResult } from '../../lab/netns/exec.js';
import { distScript } from '../../lab/netns/paths.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema, type Topology } from '../../lab/topology/schema.js';

/** Whether these tests can run here, and why not (shown in the skipped suite's name). */
export const netns = await canUseNetns();
/**
 * As root (CI, `make test`) the data-plane tests must run: a missing tool or a broken
 * kernel feature fails them (startDataPlaneLab throws the reason) instead of skipping them.
 * Unprivileged runs skip, saying why.
 */
export const e2eRequired = process.getuid?.() === 0;
export const skipE2e = !netns.ok && !e2eRequired;
export const suiteName = (name: string): string => (skipE2e && !netns.ok ? `${name} (skipped: ${netns.reason})` : name);

/** Throws (as root) when the data plane cannot be built here, so the suite fails rather than skips. */
export function assertNetnsUsable(): void {
  if (!netns.ok) throw new Error(`running as root, but the lab data plane cannot run here: ${netns.reason}`);
}

export interface DataPlaneLab {
  store: LabStore;
  manifest: LabManifest;
  topology: Topology;
  dp: DataPlane;
  prefix: string;
  /** What the echo server saw as the source address, or undefined when nothing answered. */
  seen(instanceId: string, opts?: { target?: string; proto?: 'udp' | 'tcp'; timeoutMs?: number }): Promise<string | undefined>;
  /** Runs argv inside the instance's namespace. */
  sh(instanceId: string, argv: string[], timeoutMs?: number): Promise<RunResult>;
  /** `ip -n <ns> …` output. */
  ipIn(ns: string, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startDataPlaneLab(tag: string, topologyOverrides: Record<string, unknown> = {}): Promise<DataPlaneLab> {
  assertNetnsUsable();
  const client = distScript('echo-client');
  const topology = topologySchema.parse({
    realism: { eniAttachMs: 100, eniDetachMs: 50, instanceStopMs: 100, instanceStartMs: 100, instanceTerminateMs: 100, mutatingLatencyMs: 0 },
    ...topologyOverrides,
  });
  const { store, manifest } = buildLab(topology, systemClock);
  const prefix = `nk${tag}${randomBytes(2).toString('hex')}-`;
  let dp: DataPlane;
  try {
    dp = await DataPlane.create({ store, manifest, topology, prefix });
  } catch (e) {
    store.dispose();
    await teardownLab(prefix);
    throw e;
  }
  const sh = (instanceId: string, argv: string[], timeoutMs = 10_000) => dp.exec(instanceId, argv, { timeoutMs });
  return {
    store,
    manifest,
    topology,
    dp,
    prefix,
    sh,
    async seen(instanceId, opts = {}) {
      const r = await sh(instanceId, [
        process.execPath,
        client,
        '--target',
        opts.target ?? topology.internet.echoTargets[0]!,
        '--port',
        String(topology.internet.echoPort),
        '--proto',
        opts.proto ?? 'udp',
        '--timeout',
        String(opts.timeoutMs ?? 1000),
      ]);
      if (r.code === 1) return undefined;
      if (r.code !== 0) throw new Error(`echo-client failed (${r.code}): ${r.stderr}`);
      return r.stdout.trim();
    },
    async ipIn(ns, ...args) {
      const r = await run(['ip', '-n', ns, ...args]);
      if (r.code !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    async close() {
      try {
        await dp.teardown();
      } finally {
        store.dispose();
        // Belt and braces: nothing with this prefix may survive the test.
        await teardownLab(prefix);
      }
    },
  };
}

/** Resolves when the store announces a change matching pred (rejects after timeoutMs). */
export function waitForChange(store: LabStore, pred: (c: LabChange) => boolean, timeoutMs = 5000): Promise<LabChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching lab change within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = store.onChange((c) => {
      if (!pred(c)) return;
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}

/** Polls until fn returns a truthy value (rejects after timeoutMs). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function publicIpOf(store: LabStore, eniId: string): string {
  const a = store.addresses.values().find((x) => x.networkInterfaceId === eniId);
  if (!a) throw new Error(`ENI ${eniId} has no EIP`);
  return a.publicIp;
}
