// Probes a list of targets at an interval. Each job (target × vantage) runs on its
// own timer: a job's next probe starts one interval after its previous one started,
// or right after it ended if it overran, so a target's probes never overlap. Starts
// are jittered across the first interval, at most `concurrency` probes run at once
// (the rest wait for a slot), and stop() aborts what is in flight and waits for it.

import type { Clock } from '../domain/clock.js';
import type { NodeId, ProbeResultSignal, Vantage } from '../domain/signals.js';
import { runProbe, type ProbeFn, type ProbeOptions, type ProbeOutcome } from './probes.js';
import type { ProbeTarget } from './targets.js';

export const DEFAULT_PROBE_INTERVAL_MS = 200;
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;
export const DEFAULT_PROBE_CONCURRENCY = 8;

export interface ProbeJob {
  /** The node whose NAT function is tested. */
  node: NodeId;
  target: ProbeTarget;
  vantage: Vantage;
  /** Per-target timeout; default DEFAULT_PROBE_TIMEOUT_MS. It may exceed the interval: the next probe then waits. */
  timeoutMs?: number;
  /** Per-probe options for this vantage, e.g. a source port from the peer's range. */
  socketOptions?: () => Pick<ProbeOptions, 'localPort' | 'mark'>;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, looked up at call time (so vitest fake timers apply). */
export const globalTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface SchedulerOptions {
  jobs: readonly ProbeJob[];
  clock: Clock;
  onSignal: (s: ProbeResultSignal) => void;
  intervalMs?: number;
  concurrency?: number;
  probe?: ProbeFn;
  timers?: Timers;
  /** Returns [0, 1); used for the start jitter. */
  random?: () => number;
  /** A probe function or onSignal threw (a bug); the scheduler keeps going. */
  onError?: (e: unknown, job: ProbeJob) => void;
}

export interface ProbeScheduler {
  start(): void;
  /** Aborts in-flight probes, cancels timers, resolves once nothing runs any more. Idempotent. */
  stop(): Promise<void>;
  readonly running: boolean;
  /** Probes currently in flight (for tests and /status). */
  readonly inFlight: number;
}

/**
 * The scheduler's own guard on a probe's timeout: a probe that ignores its timeout
 * is aborted and counted as failed at `timeoutMs`, so a job can never stall.
 */
function withDeadline(timers: Timers, timeoutMs: number, outer: AbortSignal, run: (signal: AbortSignal) => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
  const ac = new AbortController();
  const onOuter = () => ac.abort();
  outer.addEventListener('abort', onOuter, { once: true });
  if (outer.aborted) ac.abort();
  let handle: unknown;
  const deadline = new Promise<ProbeOutcome>((resolve) => {
    handle = timers.setTimeout(() => {
      ac.abort();
      resolve({ ok: false, latencyMs: timeoutMs, error: 'timeout' });
    }, timeoutMs);
  });
  return Promise.race([run(ac.signal), deadline]).finally(() => {
    timers.clearTimeout(handle);
    outer.removeEventListener('abort', onOuter);
  });
}

export function createProbeScheduler(opts: SchedulerOptions): ProbeScheduler {
  const intervalMs = opts.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  const concurrency = opts.concurrency ?? DEFAULT_PROBE_CONCURRENCY;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs: expected > 0, got ${intervalMs}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency: expected an integer >= 1, got ${concurrency}`);
  const probe = opts.probe ?? runProbe;
  const timers = opts.timers ?? globalTimers;
  const random = opts.random ?? Math.random;

  let running = false;
  let abort = new AbortController();
  const handles = new Set<unknown>();
  const active = new Set<Promise<void>>();
  const waiting: (() => void)[] = [];
  let slotsUsed = 0;

  const schedule = (fn: () => void, ms: number) => {
    const h = timers.setTimeout(() => {
      handles.delete(h);
      fn();
    }, Math.max(0, ms));
    handles.add(h);
  };

  const acquire = (): Promise<void> | undefined => {
    if (slotsUsed < concurrency) {
      slotsUsed++;
      return undefined;
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else slotsUsed--;
  };

  const runJob = async (job: ProbeJob): Promise<void> => {
    const startedAt = opts.clock.now();
    const wait = acquire();
    if (wait) await wait;
    try {
      if (!running) return;
      const at = opts.clock.now();
      const timeoutMs = job.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
      const outcome = await withDeadline(timers, timeoutMs, abort.signal, (signal) =>
        probe(job.target, { timeoutMs, signal, clock: opts.clock, ...(job.socketOptions?.() ?? {}) }),
      );
      if (!running) return; // stopped mid-probe: an aborted probe is not an observation
      opts.onSignal({ kind: 'probe', node: job.node, target: job.target.name, vantage: job.vantage, ok: outcome.ok, latencyMs: outcome.latencyMs, at });
    } catch (e) {
      opts.onError?.(e, job);
    } finally {
      release();
    }
    if (!running) return;
    const delay = intervalMs - (opts.clock.now() - startedAt);
    if (delay > 0) schedule(() => launch(job), delay);
    else launch(job); // overran its interval: start the next probe right away
  };

  const launch = (job: ProbeJob) => {
    if (!running) return;
    const p = runJob(job).finally(() => active.delete(p));
    active.add(p);
  };

  return {
    start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      for (const job of opts.jobs) schedule(() => launch(job), Math.floor(random() * intervalMs));
    },
    async stop() {
      running = false;
      for (const h of handles) timers.clearTimeout(h);
      handles.clear();
      abort.abort();
      // Wake jobs queued for a slot so they see !running and return.
      while (waiting.length) waiting.shift()!();
      await Promise.allSettled([...active]);
      slotsUsed = 0;
    },
    get running() {
      return running;
    },
    get inFlight() {
      return active.size;
    },
  };
}
