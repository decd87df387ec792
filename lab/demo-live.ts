// The demo's live line, refreshed every second: per app host, the public address its
// egress leaves with and whose it is (or how long it has had no answer), then each
// zone's active NAT as EC2 shows it.
//   app-a1-1 203.0.113.131 eni-a@nat-a1 | app-b1-1 NO ANSWER 2.4s | … || a→nat-a1 b→nat-c1 (cross-zone) c→nat-c1
import type { RunningLab } from './lab.js';
import type { DemoConsole } from './demo-console.js';
import { EgressWatch } from './demo-egress-watch.js';
import { describeZoneEgress, nameOf, ownerOfPublicIp, zoneEgress } from './demo-placement.js';

const REFRESH_MS = 1_000;
/** Probes go every 200 ms: this long without an answer is an outage, not jitter. */
const SILENT_AFTER_MS = 700;

export class LiveView {
  private readonly watch: EgressWatch;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly apps: string[];

  constructor(
    private readonly lab: RunningLab,
    private readonly out: DemoConsole,
    target: string,
    port: number,
  ) {
    this.watch = new EgressWatch(lab.dataPlane!, target, port);
    this.apps = lab.manifest.zones.flatMap((z) => z.appInstanceIds);
  }

  start(): void {
    this.watch.start(this.apps);
    this.timer = setInterval(() => this.out.setLive(this.line()), REFRESH_MS);
  }

  line(): string {
    const apps = this.apps.map((app) => {
      const e = this.watch.now(app);
      const name = nameOf(this.lab, app);
      if (!e.seen) return `${name} waiting`;
      if (e.silentMs > SILENT_AFTER_MS) return `${name} NO ANSWER ${(e.silentMs / 1000).toFixed(1)}s`;
      return `${name} ${e.seen} ${ownerOfPublicIp(this.lab, e.seen)}`;
    });
    const zones = this.lab.manifest.zones.map((z) => describeZoneEgress(this.lab, zoneEgress(this.lab, z)));
    return `${apps.join(' | ')} || ${zones.join(' ')}`;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watch.stop();
    this.out.clearLive();
  }
}
