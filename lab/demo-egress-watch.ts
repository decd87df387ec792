// The live view's source: one slow UDP probe stream per app host for the whole demo
// (echo-client --stream --per-probe inside the host's namespace, a probe every
// WATCH_INTERVAL_MS), read line by line as answers arrive: the public address the echo
// target saw last, and how long ago the last answer came. The outage numbers come from
// lab/outage.ts's 20 ms streams, not from this one.
import type { ChildProcess } from 'node:child_process';
import type { DataPlane } from './netns/dataplane.js';
import { spawnProbeStream, stopStreams, type PerProbeLine } from './outage.js';

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
    for (const app of apps) {
      const onProbe = (p: PerProbeLine) => {
        if (p.seen) this.latest.set(app, { seen: p.seen, at: performance.now() });
      };
      this.children.set(app, spawnProbeStream(this.dp, app, { target: this.target, port: this.port, intervalMs: WATCH_INTERVAL_MS, durationMs: WATCH_DURATION_MS, onProbe }));
    }
  }

  now(app: string): EgressNow {
    const l = this.latest.get(app);
    return { seen: l?.seen, silentMs: l ? performance.now() - l.at : Number.POSITIVE_INFINITY };
  }

  stop(): void {
    stopStreams(this.children.values());
    this.children.clear();
  }
}
