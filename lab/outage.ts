// Outage as the app hosts see it: a UDP probe every 20 ms from each app host to an echo
// target (echo-client --stream inside the host's namespace), for a bounded time. The
// outage of a host is its longest gap between answered probes (from the last packet
// before to the first packet after, rounded up to the interval); when nothing was lost
// it is about one interval. Only lab namespaces send; the target is a lab echo server.
import type { ChildProcess } from 'node:child_process';
import type { DataPlane } from './netns/dataplane.js';
import { distScript } from './netns/paths.js';
import { summarizeProbes, type ProbeRecord, type StreamSummary } from './netns/probe-stats.js';

export const OUTAGE_PROBE_INTERVAL_MS = 20;

export interface OutageStreamOptions {
  /** App hosts (instance IDs) to send from. */
  apps: readonly string[];
  target: string;
  port: number;
  /** How long each stream sends (bounded by echo-client at 600 s). */
  durationMs: number;
  intervalMs?: number;
  /** A probe answered later than this counts as lost (default 1000 ms). */
  lossAfterMs?: number;
}

export interface OutageStreams {
  /** ms (performance.now()) when the streams were started; each starts within a few ms of it. */
  startedAt: number;
  /** Resolves when every stream has ended: app → its summary (or the error). */
  done: Promise<Map<string, StreamSummary | Error>>;
  /** Ends every stream now (SIGTERM); done then resolves with errors for them. */
  abort(): void;
}

/** Longest gap between answers, in ms; Infinity when the stream failed. */
export const outageOf = (s: StreamSummary | Error | undefined): number => (s && !(s instanceof Error) ? s.longestGapMs : Number.POSITIVE_INFINITY);

/** One line of `echo-client --per-probe`: an answered probe (rttMs, seen) or a lost one. */
export interface PerProbeLine {
  seq: number;
  sentAt: number;
  rttMs?: number;
  seen?: string;
  lost?: true;
}

export interface ProbeStreamOptions {
  target: string;
  port: number;
  intervalMs: number;
  /** How long it sends (echo-client's own bound is 600 s). */
  durationMs: number;
  /** A probe answered later than this counts as lost (echo-client's default when absent). */
  lossAfterMs?: number;
  /** Called with each probe as it resolves (turns on --per-probe); the summary line is not passed. */
  onProbe?: (p: PerProbeLine) => void;
}

/** echo-client --stream inside `app`'s namespace: the one way every lab probe stream starts. */
export function spawnProbeStream(dp: DataPlane, app: string, o: ProbeStreamOptions): ChildProcess {
  const argv = [process.execPath, distScript('echo-client'), '--target', o.target, '--port', String(o.port), '--stream', ...(o.onProbe ? ['--per-probe'] : []), '--interval', String(o.intervalMs), '--duration', String(o.durationMs), ...(o.lossAfterMs !== undefined ? ['--loss-after', String(o.lossAfterMs)] : [])];
  const child = dp.spawnIn(app, argv);
  const onProbe = o.onProbe;
  if (onProbe) {
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let p: Partial<PerProbeLine> & { summary?: boolean };
        try {
          p = JSON.parse(line) as typeof p;
        } catch {
          continue;
        }
        if (!p.summary && typeof p.seq === 'number' && typeof p.sentAt === 'number') onProbe(p as PerProbeLine);
      }
    });
  }
  return child;
}

/** SIGTERM to every child still running. */
export function stopStreams(children: Iterable<ChildProcess>): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

function collect(app: string, child: ChildProcess): Promise<[string, StreamSummary | Error]> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2_000)));
  return new Promise((resolve) => {
    child.once('error', (e) => resolve([app, e]));
    child.once('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const s = JSON.parse(last) as StreamSummary;
        if (code === 0 && s.summary) return resolve([app, s]);
      } catch {
        // reported below
      }
      resolve([app, new Error(`echo-client on ${app} exited ${code}: ${err.trim() || last || 'no output'}`)]);
    });
  });
}

/** Starts one probe stream per app host. */
export function startOutageStreams(dp: DataPlane, opts: OutageStreamOptions): OutageStreams {
  const interval = opts.intervalMs ?? OUTAGE_PROBE_INTERVAL_MS;
  const startedAt = performance.now();
  const children = opts.apps.map((app) => [app, spawnProbeStream(dp, app, { ...opts, intervalMs: interval, lossAfterMs: opts.lossAfterMs ?? 1_000 })] as const);
  const done = Promise.all(children.map(([app, child]) => collect(app, child))).then((pairs) => new Map(pairs));
  return { startedAt, done, abort: () => stopStreams(children.map(([, child]) => child)) };
}

/** Probe streams that run until stopped, with every probe's record as it resolves (echo-client --per-probe). */
export interface LiveOutageStreams {
  /** True when every app host's latest `ms` of probes were all answered (and the latest answer is recent). */
  allAnsweringFor(ms: number): boolean;
  /** Ends every stream (SIGTERM) and summarises each app's probes up to its last resolved one (see summarizeProbes). */
  stop(): Map<string, StreamSummary>;
}

interface LiveRecords {
  probes: ProbeRecord[];
  /** The latest answered probe, and when its answer was read (performance.now()). */
  lastAnswered?: { seq: number; at: number };
  /** How many consecutive probes were answered, ending at the latest answered one. */
  answeredRun: number;
}

/**
 * Starts one probe stream per app host, like startOutageStreams, but for as long as
 * the caller needs (bounded by maxDurationMs): a benchmark ends a run once traffic is
 * back instead of waiting out a fixed window. Lost probes are only known after
 * lossAfterMs, so the summary covers each app's probes up to the last one resolved.
 */
export function startLiveOutageStreams(dp: DataPlane, opts: Omit<OutageStreamOptions, 'durationMs'> & { maxDurationMs: number }): LiveOutageStreams {
  const interval = opts.intervalMs ?? OUTAGE_PROBE_INTERVAL_MS;
  const records = new Map<string, LiveRecords>();
  const children = opts.apps.map((app) => {
    const rec: LiveRecords = { probes: [], answeredRun: 0 };
    records.set(app, rec);
    return spawnProbeStream(dp, app, {
      ...opts,
      intervalMs: interval,
      durationMs: opts.maxDurationMs,
      lossAfterMs: opts.lossAfterMs ?? 1_000,
      onProbe: (p) => {
        if (p.lost) {
          rec.probes[p.seq] = { seq: p.seq, sentAt: p.sentAt };
          return;
        }
        rec.probes[p.seq] = { seq: p.seq, sentAt: p.sentAt, receivedAt: p.sentAt + (p.rttMs ?? 0), ...(p.seen ? { seen: p.seen } : {}) };
        // Answers arrive in order unless the network reorders; a gap in seq breaks the run.
        rec.answeredRun = rec.lastAnswered && p.seq === rec.lastAnswered.seq + 1 ? rec.answeredRun + 1 : 1;
        rec.lastAnswered = { seq: p.seq, at: performance.now() };
      },
    });
  });
  return {
    allAnsweringFor: (ms) =>
      [...records.values()].every((r) => r.lastAnswered !== undefined && performance.now() - r.lastAnswered.at < 5 * interval + 200 && r.answeredRun * interval >= ms),
    stop: () => {
      stopStreams(children);
      const out = new Map<string, StreamSummary>();
      for (const [app, r] of records) {
        const resolved = r.probes.filter((p): p is ProbeRecord => p !== undefined);
        const last = resolved.length ? resolved[resolved.length - 1]! : undefined;
        out.set(app, summarizeProbes(opts.target, interval, last ? last.sentAt + interval : 0, resolved));
      }
      return out;
    },
  };
}
