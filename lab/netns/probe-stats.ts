// Summaries of a stream of UDP probes (echo-client --stream): how many were
// lost, the longest gap between answered probes, which source addresses the echo
// server saw and when that changed. Pure, so outage arithmetic is unit-tested.

export interface ProbeRecord {
  seq: number;
  /** ms since the stream started. */
  sentAt: number;
  /** ms since the stream started; undefined when lost. */
  receivedAt?: number;
  seen?: string;
}

export interface StreamSummary {
  summary: true;
  target: string;
  intervalMs: number;
  durationMs: number;
  sent: number;
  received: number;
  lost: number;
  lossPct: number;
  /**
   * Longest time between two answered probes (by send time), counting the stream's
   * start and its last probe as edges: about the interval when nothing is lost, the
   * outage (rounded up to the interval) when something is.
   */
  longestGapMs: number;
  /** The most consecutive lost probes. */
  longestLossRun: number;
  /** Send time of the first probe of the longest loss run (ms since start), if any was lost. */
  longestLossStartMs?: number;
  /** Answers per source address the server saw. */
  seen: Record<string, number>;
  /** Changes of the seen source address, in probe order. */
  transitions: { seq: number; atMs: number; from: string; to: string }[];
  rttMs: { p50: number; p99: number; max: number } | null;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarizeProbes(target: string, intervalMs: number, durationMs: number, probes: readonly ProbeRecord[]): StreamSummary {
  const ordered = [...probes].sort((a, b) => a.seq - b.seq);
  const answered = ordered.filter((p) => p.receivedAt !== undefined);
  const seen: Record<string, number> = {};
  const transitions: StreamSummary['transitions'] = [];
  let last: string | undefined;
  for (const p of answered) {
    const s = p.seen ?? '';
    seen[s] = (seen[s] ?? 0) + 1;
    if (last !== undefined && s !== last) transitions.push({ seq: p.seq, atMs: Math.round(p.sentAt), from: last, to: s });
    last = s;
  }
  let longestGapMs = 0;
  const lastSent = ordered.length ? ordered[ordered.length - 1]!.sentAt : 0;
  if (ordered.length) {
    let prev = 0;
    for (const p of answered) {
      longestGapMs = Math.max(longestGapMs, p.sentAt - prev);
      prev = p.sentAt;
    }
    longestGapMs = Math.max(longestGapMs, lastSent - prev);
    if (!answered.length) longestGapMs = lastSent;
  }
  let run = 0;
  let longestLossRun = 0;
  let longestLossStartMs: number | undefined;
  let runStart = 0;
  for (const p of ordered) {
    if (p.receivedAt === undefined) {
      if (run === 0) runStart = p.sentAt;
      run++;
      if (run > longestLossRun) {
        longestLossRun = run;
        longestLossStartMs = Math.round(runStart);
      }
    } else run = 0;
  }
  const rtts = answered.map((p) => p.receivedAt! - p.sentAt).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    summary: true,
    target,
    intervalMs,
    durationMs,
    sent: ordered.length,
    received: answered.length,
    lost: ordered.length - answered.length,
    lossPct: ordered.length ? round(((ordered.length - answered.length) / ordered.length) * 100) : 0,
    longestGapMs: round(longestGapMs),
    longestLossRun,
    ...(longestLossStartMs !== undefined ? { longestLossStartMs } : {}),
    seen,
    transitions,
    rttMs: rtts.length ? { p50: round(quantile(rtts, 0.5)), p99: round(quantile(rtts, 0.99)), max: round(rtts[rtts.length - 1]!) } : null,
  };
}
