// The live view's source: one slow UDP probe stream per app host for the whole demo
// (echo-client --stream --per-probe inside the host's namespace, a probe every
// WATCH_INTERVAL_MS), read line by line as answers arrive: the public address the echo
// target saw last, and how long ago the last answer came. The outage numbers come from
// lab/outage.ts's 20 ms streams, not from this one.
import type { ChildProcess } from 'node:child_process';
import type { DataPlane } from './netns/dataplane.js';
import { distScript } from './netns/paths.js';

const WATCH_INTERVAL_MS = 200;
/** echo-client's own bound (600 s); the demo takes about four minutes. */
const WATCH_DURATION_MS = 590_000;

export interface EgressNow {
  /** The source address the echo target saw in the latest answer. */
  seen: string | undefined;
  /** ms since the latest answer (Infinity before the first). */
  silentMs: number;
}

export class EgressWatch {
  private readonly children = new Map<string, ChildProcess>();
  private readonly latest = new Map<string, { seen: string; at: number }>();

  constructor(
    private readonly dp: DataPlane,
    private readonly target: string,
    private readonly port: number,
  ) {}

  start(apps: readonly string[]): void {
    const script = distScript('echo-client');
    for (const app of apps) {
      const argv = [process.execPath, script, '--target', this.target, '--port', String(this.port), '--stream', '--per-probe', '--interval', String(WATCH_INTERVAL_MS), '--duration', String(WATCH_DURATION_MS)];
      const child = this.dp.spawnIn(app, argv);
      let partial = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.take(app, line);
      });
      this.children.set(app, child);
    }
  }

  private take(app: string, line: string): void {
    try {
      const p = JSON.parse(line) as { seen?: string; lost?: boolean };
      if (p.seen) this.latest.set(app, { seen: p.seen, at: performance.now() });
    } catch {
      // the final summary line and anything partial: not a per-probe answer
    }
  }

  now(app: string): EgressNow {
    const l = this.latest.get(app);
    return { seen: l?.seen, silentMs: l ? performance.now() - l.at : Number.POSITIVE_INFINITY };
  }

  stop(): void {
    for (const child of this.children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    this.children.clear();
  }
}
