// natkeeper agents on every running NAT instance of the lab, including the ones the
// Auto Scaling groups launch as replacements: in AWS their user data would start the
// agent at boot; here a watcher notices each new running NAT (once its namespace is
// built) and starts one with the same config.
import type { RunningLab } from './lab.js';
import { agentStatus, spawnAgent, stopAgent, type LabAgent, type StatusView } from './agents.js';

const WATCH_EVERY_MS = 1_000;

export class AgentFleet {
  readonly agents = new Map<string, LabAgent>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private spawning: Promise<void> | undefined;

  constructor(
    private readonly lab: RunningLab,
    private readonly config: Record<string, unknown>,
    private readonly dir: string,
    /** Told about every agent started after the first ones (a replacement's). */
    private readonly onSpawn: (instanceId: string) => void,
  ) {}

  /** Agents on every running NAT now, then keeps watching for new ones. */
  async start(): Promise<void> {
    await this.spawnMissing(false);
    this.timer = setInterval(() => {
      this.spawning ??= this.spawnMissing(true).finally(() => (this.spawning = undefined));
    }, WATCH_EVERY_MS);
  }

  private async spawnMissing(announce: boolean): Promise<void> {
    const dp = this.lab.dataPlane!;
    const fresh = this.lab.store.instances.values().filter((i) => i.role === 'nat' && i.state === 'running' && !this.agents.has(i.instanceId) && dp.nsOf(i.instanceId));
    if (!fresh.length) return;
    await dp.settled(); // the namespace's links and addresses in place
    for (const i of fresh) {
      if (this.timer === undefined && announce) return; // stopped meanwhile
      this.agents.set(i.instanceId, spawnAgent(dp, i.instanceId, this.config, this.dir));
      if (announce) this.onSpawn(i.instanceId);
    }
  }

  /** Agents whose process still runs (a killed instance's agent died with it). */
  alive(): LabAgent[] {
    return [...this.agents.values()].filter((a) => a.child.exitCode === null && a.child.signalCode === null);
  }

  /** Every live agent's /status; an agent not answering yet is left out. */
  async statuses(): Promise<Map<string, StatusView>> {
    const dp = this.lab.dataPlane!;
    const pairs = await Promise.all(this.alive().map(async (a) => [a.id, await agentStatus(dp, a).catch(() => undefined)] as const));
    return new Map(pairs.filter((p): p is readonly [string, StatusView] => p[1] !== undefined));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.spawning;
    await Promise.all([...this.agents.values()].map((a) => stopAgent(a)));
  }
}
