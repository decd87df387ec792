// IMDSv2 watcher for planned handovers: polls spot/instance-action and
// events/recommendations/rebalance, and turns each new notice into one
// planned-handover Signal. A 404 means "no notice"; IMDS errors are counted,
// logged and retried at the next poll, never thrown. Also: SIGTERM as a
// planned-handover Signal (handoverOnSigterm).

import type { HandoverCause, NodeId, PlannedHandoverSignal } from '../domain/signals.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import type { ImdsClient } from './imds.js';

export const DEFAULT_IMDS_POLL_INTERVAL_MS = 2000;
export const SPOT_INSTANCE_ACTION_PATH = 'spot/instance-action';
export const REBALANCE_PATH = 'events/recommendations/rebalance';

export interface ImdsWatcherOptions {
  /** Only `get` is used (GET /latest/meta-data/<path>, undefined on 404). */
  imds: Pick<ImdsClient, 'get'>;
  node: NodeId;
  onSignal: (signal: PlannedHandoverSignal) => void;
  /** Time between the end of one poll and the start of the next (default 2000 ms). */
  intervalMs?: number;
  now?: () => number;
  log?: Logger;
}

export interface ImdsWatcherStats {
  polls: number;
  /** Failed IMDS reads (each path counts), unparseable documents included. */
  errors: number;
  signals: number;
  lastError?: string;
}

interface Notice {
  /** Identifies one notice; the same key is never signalled twice. */
  key: string;
  cause: HandoverCause;
  deadline?: number;
}

/** Parses spot/instance-action ({"action":"terminate","time":"2025-01-01T00:02:00Z"}). */
export function parseInstanceAction(body: string): Notice {
  const doc = JSON.parse(body) as unknown;
  if (typeof doc !== 'object' || doc === null) throw new Error('spot/instance-action is not a JSON object');
  const { action, time } = doc as { action?: unknown; time?: unknown };
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) throw new Error(`spot/instance-action has no valid time: ${body}`);
  return { key: `spot:${typeof action === 'string' ? action : '?'}:${time}`, cause: 'spot-instance-action', deadline: Date.parse(time) };
}

/** Parses events/recommendations/rebalance ({"noticeTime":"2025-01-01T00:00:00Z"}). */
export function parseRebalance(body: string): Notice {
  const doc = JSON.parse(body) as unknown;
  if (typeof doc !== 'object' || doc === null) throw new Error('events/recommendations/rebalance is not a JSON object');
  const { noticeTime } = doc as { noticeTime?: unknown };
  if (typeof noticeTime !== 'string') throw new Error(`events/recommendations/rebalance has no noticeTime: ${body}`);
  return { key: `rebalance:${noticeTime}`, cause: 'rebalance-recommendation' };
}

export class ImdsWatcher {
  private readonly imds: Pick<ImdsClient, 'get'>;
  private readonly node: NodeId;
  private readonly onSignal: (s: PlannedHandoverSignal) => void;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly seen = new Set<string>();
  private readonly counters: ImdsWatcherStats = { polls: 0, errors: 0, signals: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;

  constructor(opts: ImdsWatcherOptions) {
    this.imds = opts.imds;
    this.node = opts.node;
    this.onSignal = opts.onSignal;
    this.intervalMs = opts.intervalMs ?? DEFAULT_IMDS_POLL_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? silentLogger;
  }

  get stats(): ImdsWatcherStats {
    return { ...this.counters };
  }

  /** Polls at once, then every intervalMs after each poll ends. Starting twice is a no-op. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Stops polling; resolves once a poll in flight has finished (its notices are still signalled). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One poll of both paths. Never rejects. */
  async pollOnce(): Promise<void> {
    this.counters.polls++;
    // One after the other: the first GET fetches the session token the second reuses.
    await this.check(SPOT_INSTANCE_ACTION_PATH, parseInstanceAction);
    await this.check(REBALANCE_PATH, parseRebalance);
  }

  private tick(): void {
    if (!this.running) return;
    const p = this.pollOnce().finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
      if (this.running) this.timer = setTimeout(() => this.tick(), this.intervalMs);
    });
    this.inFlight = p;
  }

  private async check(path: string, parse: (body: string) => Notice): Promise<void> {
    let notice: Notice;
    try {
      const body = await this.imds.get(path);
      if (body === undefined) return;
      notice = parse(body);
    } catch (err) {
      this.counters.errors++;
      this.counters.lastError = `${path}: ${(err as Error).message}`;
      this.log.warn('imds.watch-error', { path, errors: this.counters.errors, error: err as Error });
      return;
    }
    if (this.seen.has(notice.key)) return;
    this.seen.add(notice.key);
    const signal: PlannedHandoverSignal = { kind: 'planned-handover', node: this.node, cause: notice.cause, at: this.now() };
    if (notice.deadline !== undefined) signal.deadline = notice.deadline;
    this.counters.signals++;
    this.log.info('imds.handover-notice', { node: this.node, cause: notice.cause, deadline: notice.deadline });
    try {
      this.onSignal(signal);
    } catch (err) {
      this.log.error('imds.on-signal-failed', { node: this.node, cause: notice.cause, error: err as Error });
    }
  }
}

/** What handoverOnSigterm needs of `process`. */
export interface SignalSource {
  on(event: 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGTERM', listener: () => void): unknown;
}

export interface SigtermOptions {
  node: NodeId;
  onSignal: (signal: PlannedHandoverSignal) => void;
  now?: () => number;
  log?: Logger;
}

/**
 * Turns SIGTERM into one planned-handover Signal (cause 'sigterm'); a repeated
 * SIGTERM is not signalled again. Listening for SIGTERM replaces Node's default
 * (exit), so the caller must exit itself once the handover is done.
 * Returns a function that removes the listener.
 */
export function handoverOnSigterm(source: SignalSource, opts: SigtermOptions): () => void {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? silentLogger;
  let fired = false;
  const listener = () => {
    if (fired) {
      log.warn('agent.sigterm-repeated', { node: opts.node });
      return;
    }
    fired = true;
    log.info('agent.sigterm', { node: opts.node });
    try {
      opts.onSignal({ kind: 'planned-handover', node: opts.node, cause: 'sigterm', at: now() });
    } catch (err) {
      log.error('agent.sigterm-on-signal-failed', { node: opts.node, error: err as Error });
    }
  };
  source.on('SIGTERM', listener);
  return () => {
    source.off('SIGTERM', listener);
  };
}
