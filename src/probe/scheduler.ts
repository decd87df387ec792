// Probes a list of targets at an interval. Each job (target × vantage) ticks every
// `intervalMs` on its own timer (the first tick jittered across the first interval)
// and sends a probe on every tick, whether or not its earlier probes have answered:
// each probe has its own timeout, so a hung path yields one failure per interval
// instead of one per timeout. A job has at most maxInFlightPerJob(timeout, interval) =
// ceil(timeoutMs / intervalMs) + 1 probes outstanding; a tick that finds the job at
// that bound is skipped (counted in stats().skipped, no signal). With on-time timers
// the bound is never reached: at a tick at most floor(timeout / interval) earlier
// probes can still be running. At most `concurrency` probes run at once across all
// jobs (the rest wait for a slot, in order; the default is large enough that the
// per-job bounds are the only limit).
//
// A result's `at` is when its probe was sent. Results of one job are emitted in send
// order: one that completes early is held until every earlier probe of the job has
// ended (a failure at its timeout), so consumers see each (node, target, vantage) in
// time order. Detection of a hung path: the k-th failure of a job arrives
// (k − 1) × intervalMs + timeoutMs after the first probe that hung was sent, i.e.
// 1.2 s + 1 s = 2.2 s for k = 7 at the defaults (200 ms, 1000 ms).
//
// stop() aborts what is in flight, waits for it, and emits nothing afterwards.
//
// Source ports (peer vantage): socketOptions() is called once per probe, when it is
// sent, and a real probe releases its socket as soon as it is aborted at its deadline.
// A round-robin PortAllocator over R ports hands a port out again only R takes later,
// so no port is reused while in flight as long as the probes in flight on one allocator
// stay below R: per job that is maxInFlightPerJob (6 at the defaults) against 50 ports
// per peer range.

import type { Clock } from '../domain/clock.js';
import type { NodeId, ProbeResultSignal, Vantage } from '../domain/signals.js';
import { runProbe, type ProbeFn, type ProbeOptions, type ProbeOutcome } from './probes.js';
import type { ProbeTarget } from './targets.js';

export const DEFAULT_PROBE_INTERVAL_MS = 200;
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;
/**
 * The least default for `concurrency`; the actual default is the larger of this and the
 * sum of the jobs' in-flight bounds, so the default never throttles a job below its bound.
 */
export const DEFAULT_PROBE_CONCURRENCY = 8;

/** The most probes one job may have outstanding: ceil(timeoutMs / intervalMs) + 1. */
export function maxInFlightPerJob(timeoutMs: number, intervalMs: number): number {
  return Math.ceil(timeoutMs / intervalMs) + 1;
}

export interface ProbeJob {
  /** The node whose NAT function is tested. */
  node: NodeId;
  target: ProbeTarget;
  vantage: Vantage;
  /** Per-target timeout; default DEFAULT_PROBE_TIMEOUT_MS. It may exceed the interval: probes then overlap (see maxInFlightPerJob). */
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
  /** Probes running at once across all jobs; default max(DEFAULT_PROBE_CONCURRENCY, Σ maxInFlightPerJob). */
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
  /** Probes currently in flight, including those waiting for a concurrency slot (for tests and /status). */
  readonly inFlight: number;
  /** Counters since the scheduler was created. */
  stats(): ProbeSchedulerStats;
}

export interface ProbeSchedulerStats {
  /** Ticks skipped because the job already had maxInFlightPerJob probes outstanding. */
  skipped: number;
  /** Probes sent. */
  sent: number;
  /** Results emitted through onSignal. */
  emitted: number;
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

interface JobState {
  readonly job: ProbeJob;
  readonly timeoutMs: number;
  readonly maxInFlight: number;
  /** Probes ticked but not ended yet (waiting for a slot or running). */
  outstanding: number;
  /** Sequence number of the next probe ticked. */
  nextSeq: number;
  /** Sequence number of the next result to emit. */
  nextEmit: number;
  /** Ended probes not emitted yet, by sequence number; undefined = nothing to emit (the probe threw). */
  ended: Map<number, ProbeResultSignal | undefined>;
}

/** One start()…stop() run; probes of an earlier run never emit into a later one. */
interface Run {
  stopped: boolean;
  readonly abort: AbortController;
  readonly jobs: JobState[];
}

export function createProbeScheduler(opts: SchedulerOptions): ProbeScheduler {
  const intervalMs = opts.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs: expected > 0, got ${intervalMs}`);
  const timeoutOf = (job: ProbeJob) => job.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const concurrency =
    opts.concurrency ?? Math.max(DEFAULT_PROBE_CONCURRENCY, opts.jobs.reduce((sum, j) => sum + maxInFlightPerJob(timeoutOf(j), intervalMs), 0));
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency: expected an integer >= 1, got ${concurrency}`);
  const probe = opts.probe ?? runProbe;
  const timers = opts.timers ?? globalTimers;
  const random = opts.random ?? Math.random;

  let run: Run | undefined;
  const stats: ProbeSchedulerStats = { skipped: 0, sent: 0, emitted: 0 };
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

  /** Emits the job's ended results that have no earlier probe still outstanding, in send order. */
  const flush = (r: Run, st: JobState) => {
    while (!r.stopped && st.ended.has(st.nextEmit)) {
      const signal = st.ended.get(st.nextEmit);
      st.ended.delete(st.nextEmit);
      st.nextEmit++;
      if (!signal) continue;
      try {
        stats.emitted++;
        opts.onSignal(signal);
      } catch (e) {
        opts.onError?.(e, st.job);
      }
    }
  };

  const probeOnce = async (r: Run, st: JobState, seq: number): Promise<void> => {
    let signal: ProbeResultSignal | undefined;
    const wait = acquire();
    if (wait) await wait;
    try {
      if (r.stopped) return;
      const { job, timeoutMs } = st;
      const at = opts.clock.now(); // sent now
      stats.sent++;
      const outcome = await withDeadline(timers, timeoutMs, r.abort.signal, (signal) =>
        probe(job.target, { timeoutMs, signal, clock: opts.clock, ...(job.socketOptions?.() ?? {}) }),
      );
      if (r.stopped) return; // stopped mid-probe: an aborted probe is not an observation
      signal = { kind: 'probe', node: job.node, target: job.target.name, vantage: job.vantage, ok: outcome.ok, latencyMs: outcome.latencyMs, at };
    } catch (e) {
      opts.onError?.(e, st.job);
    } finally {
      release();
      st.outstanding--;
      st.ended.set(seq, signal);
      flush(r, st);
    }
  };

  const tick = (r: Run, st: JobState) => {
    if (r.stopped) return;
    schedule(() => tick(r, st), intervalMs);
    if (st.outstanding >= st.maxInFlight) {
      stats.skipped++;
      return;
    }
    st.outstanding++;
    const p = probeOnce(r, st, st.nextSeq++).finally(() => active.delete(p));
    active.add(p);
  };

  return {
    start() {
      if (run && !run.stopped) return;
      const r: Run = {
        stopped: false,
        abort: new AbortController(),
        jobs: opts.jobs.map((job) => {
          const timeoutMs = timeoutOf(job);
          return { job, timeoutMs, maxInFlight: maxInFlightPerJob(timeoutMs, intervalMs), outstanding: 0, nextSeq: 0, nextEmit: 0, ended: new Map() };
        }),
      };
      run = r;
      for (const st of r.jobs) schedule(() => tick(r, st), Math.floor(random() * intervalMs));
    },
    async stop() {
      const r = run;
      if (r) r.stopped = true;
      for (const h of handles) timers.clearTimeout(h);
      handles.clear();
      r?.abort.abort();
      // Wake probes queued for a slot so they see the run stopped and return.
      while (waiting.length) waiting.shift()!();
      await Promise.allSettled([...active]);
      slotsUsed = 0;
    },
    get running() {
      return run !== undefined && !run.stopped;
    },
    get inFlight() {
      return active.size;
    },
    stats() {
      return { ...stats };
    },
  };
}
