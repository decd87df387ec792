// A long-lived /status poller inside an instance's namespace: one small node process
// (cheaper than a process per poll) fetches the agent's /status every intervalMs and
// prints one JSON line per answer, stamped with Date.now() when the answer was read.
// The bench waits on those lines. The poller stops at its own deadline, when its stdin
// closes (the bench went away), or on stop().

import type { ChildProcess } from 'node:child_process';
import type { DataPlane } from '../../../lab/netns/dataplane.js';

export interface VerdictView {
  node: string;
  state: string;
  since: number;
  reason?: string;
}

export interface StatusLine {
  /** When the answer was read (epoch ms). */
  t: number;
  verdicts?: VerdictView[];
  healthy?: boolean;
  error?: string;
}

const POLLER = `
const [url, every, max] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const end = Date.now() + max;
process.stdin.on('end', () => process.exit(0)).resume();
const tick = async () => {
  const start = Date.now();
  let line;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const s = await r.json();
    line = { t: Date.now(), healthy: s.health?.healthy, verdicts: (s.verdicts ?? []).map((v) => ({ node: v.node, state: v.state, since: v.since, reason: v.reason })) };
  } catch (e) {
    line = { t: Date.now(), error: String(e) };
  }
  process.stdout.write(JSON.stringify(line) + '\\n');
  if (Date.now() >= end) process.exit(0);
  setTimeout(tick, Math.max(0, start + every - Date.now()));
};
tick();
`;

export interface StatusStream {
  /** The latest line. */
  latest(): StatusLine | undefined;
  /** Resolves with the first line from now on that matches, or undefined after timeoutMs. */
  next(match: (l: StatusLine) => boolean, timeoutMs: number): Promise<StatusLine | undefined>;
  /** Calls fn on every line until the returned function is called. */
  each(fn: (l: StatusLine) => void): () => void;
  stop(): void;
}

export function verdictOf(l: StatusLine | undefined, node: string): VerdictView | undefined {
  return l?.verdicts?.find((v) => v.node === node);
}

export function startStatusStream(dp: DataPlane, instanceId: string, opts: { intervalMs: number; maxMs: number; url?: string }): StatusStream {
  const url = opts.url ?? 'http://127.0.0.1:9469/status';
  const child: ChildProcess = dp.spawnIn(instanceId, [process.execPath, '-e', POLLER, url, String(opts.intervalMs), String(opts.maxMs)], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let last: StatusLine | undefined;
  const listeners = new Set<(l: StatusLine) => void>();
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l: StatusLine;
      try {
        l = JSON.parse(text) as StatusLine;
      } catch {
        continue;
      }
      last = l;
      for (const fn of [...listeners]) fn(l);
    }
  });
  const each = (fn: (l: StatusLine) => void) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };
  return {
    latest: () => last,
    each,
    next(match, timeoutMs) {
      return new Promise((resolve) => {
        const off = each((l) => {
          if (!match(l)) return;
          off();
          clearTimeout(timer);
          resolve(l);
        });
        const timer = setTimeout(() => {
          off();
          resolve(undefined);
        }, timeoutMs);
      });
    },
    stop() {
      listeners.clear();
      child.stdin?.end();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
