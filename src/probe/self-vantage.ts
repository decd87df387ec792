// The `self` vantage: probes sent from the probe namespace (self-namespace.ts) through
// this node's forwarding and masquerade, by a worker process living in that namespace.
// The agent talks to it over an IPC channel: one request per probe, one answer each.
// The worker is restarted when it dies (at most once per restartMs); until it is back,
// self probes fail with a reason that says so, which is the truth: the vantage is blind.
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup as dnsLookup } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import type { Runner } from '../dataplane/runner.js';
import type { Logger } from '../telemetry/logger.js';
import type { ProbeFn, ProbeOutcome } from './probes.js';
import { ensureSelfNamespace, removeSelfNamespace } from './self-namespace.js';
import type { WorkerReply, WorkerRequest } from './self-worker.js';

export interface SelfVantageOptions {
  runner: Runner;
  namespace: string;
  logger: Logger;
  /** The worker script (default: self-worker.js next to this file). */
  workerPath?: string;
  /** Minimum time between worker restarts. Default 1000 ms. */
  restartMs?: number;
}

export interface SelfVantage {
  /** Creates the namespace and starts the worker; resolves false (and says why) when it cannot. */
  start(): Promise<{ ok: true } | { ok: false; reason: string }>;
  probe: ProbeFn;
  /** Stops the worker and removes the namespace. */
  stop(): Promise<void>;
}

export function createSelfVantage(opts: SelfVantageOptions): SelfVantage {
  const workerPath = opts.workerPath ?? fileURLToPath(new URL('./self-worker.js', import.meta.url));
  const restartMs = opts.restartMs ?? 1_000;
  const pending = new Map<number, (o: ProbeOutcome) => void>();
  let child: ChildProcess | undefined;
  let ready: Promise<boolean> | undefined;
  let lastStart = 0;
  let nextId = 1;
  let stopped = false;

  const failAll = (error: string) => {
    for (const [id, resolve] of pending) {
      pending.delete(id);
      resolve({ ok: false, latencyMs: 0, error });
    }
  };

  function launch(): Promise<boolean> {
    lastStart = Date.now();
    const c = spawn('ip', ['netns', 'exec', opts.namespace, process.execPath, workerPath], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child = c;
    let stderr = '';
    c.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-1000)));
    c.on('message', (m: WorkerReply) => {
      if (m.type === 'result') {
        pending.get(m.id)?.({ ok: m.ok, latencyMs: m.latencyMs, ...(m.error !== undefined ? { error: m.error } : {}) });
        pending.delete(m.id);
      } else if (m.type === 'lookup') {
        void dnsLookup(m.host, { family: 4 }).then(
          (a) => c.connected && c.send({ type: 'lookup-result', id: m.id, address: a.address, family: a.family } satisfies WorkerRequest),
          (e: unknown) => c.connected && c.send({ type: 'lookup-result', id: m.id, error: (e as { code?: string }).code ?? 'ENOTFOUND' } satisfies WorkerRequest),
        );
      }
    });
    const started = new Promise<boolean>((resolve) => {
      c.once('message', (m: WorkerReply) => resolve(m.type === 'ready'));
      c.once('exit', () => resolve(false));
      c.once('error', () => resolve(false));
    });
    c.once('exit', (code, signal) => {
      if (child === c) child = undefined;
      failAll('self-vantage worker exited');
      if (!stopped) opts.logger.warn('self_vantage_worker_exited', { code, signal, stderr: stderr.trim() });
    });
    return started;
  }

  const alive = () => child !== undefined && child.connected;

  return {
    async start() {
      stopped = false;
      const ns = await ensureSelfNamespace(opts.runner, opts.namespace);
      if (!ns.ok) return ns;
      ready = launch();
      return (await ready) ? { ok: true } : { ok: false, reason: `the probe worker did not start in namespace ${opts.namespace}` };
    },
    async probe(target, po) {
      if (!alive()) {
        if (stopped || Date.now() - lastStart < restartMs) return { ok: false, latencyMs: 0, error: 'self-vantage worker unavailable' };
        ready = launch();
        if (!(await ready)) return { ok: false, latencyMs: 0, error: 'self-vantage worker unavailable' };
      }
      const id = nextId++;
      return new Promise<ProbeOutcome>((resolve) => {
        // The worker enforces the probe's timeout; this guard only covers a stuck worker.
        const guard = setTimeout(() => {
          pending.delete(id);
          resolve({ ok: false, latencyMs: po.timeoutMs, error: 'timeout' });
        }, po.timeoutMs + 1_000);
        pending.set(id, (o) => {
          clearTimeout(guard);
          resolve(o);
        });
        po.signal?.addEventListener('abort', () => pending.get(id)?.({ ok: false, latencyMs: 0, error: 'aborted' }), { once: true });
        child!.send({ type: 'probe', id, target, timeoutMs: po.timeoutMs } satisfies WorkerRequest);
      });
    },
    async stop() {
      stopped = true;
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
        if (c.exitCode === null) c.kill('SIGKILL');
      }
      failAll('self-vantage stopped');
      await removeSelfNamespace(opts.runner, opts.namespace);
    },
  };
}
