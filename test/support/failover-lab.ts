// Shared setup of the failover e2e tests (issue 4, tests 2 and 4-7): a lab from a small
// topology, a natkeeper agent on every NAT (lab/agents.ts), and what the tests read back:
// egress as the internet sees it, the decision log, the lab API's request log by caller,
// and, when a wait fails, what each agent's controller said.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentStatus, closeAgentLab, ensureLeaseTable, labAgentConfig, spawnAgent, verdictOf, type LabAgent } from '../../lab/agents.js';
import { checkEgress } from '../../lab/egress.js';
import { labAccessKeyIdOf } from '../../lab/emulator/imds/handler.js';
import type { RequestLogEntry } from '../../lab/emulator/query/request-log.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import type { DataPlane } from '../../lab/netns/dataplane.js';
import type { ZoneManifest } from '../../lab/topology/build.js';
import { topologySchema, type Topology } from '../../lab/topology/schema.js';
import { parseConfigText } from '../../src/config/load-file.js';
import type { DecisionRecord } from '../../src/domain/ports/lease-store.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { until } from './async.js';

/** ENI attach/detach and instance state changes instant, EC2 notices a killed host after 1 s: the agents' timings dominate. */
export const INSTANT_REALISM = 'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0, killStateDelayMs: 1000 }';

/** The agents' events worth showing when a wait fails: the controller's, the lease's, and every warning or error. */
const CONTROLLER_EVENTS = /"event":"(decision|cycle_acted|cycle_failed|leader_elected|leader_lost|lease_[a-z_]+|fenced_out|zone_action_failed|verdict_transition|handover[a-z_]*)"|"level":"(warn|error)"/;

/** No Auto Scaling replacement during the test. */
export const NO_REPLACEMENT = 'autoScaling: { replacementDelayMs: 600000 }';

/** The topology line of zone number `i` (a, b, …): its NATs, one app host, a floating ENI, and extra private route tables. */
export function zoneLine(i: number, natInstances: number, extraPrivateRouteTables = 0): string {
  const name = String.fromCharCode(97 + i);
  return `  - { name: ${name}, publicSubnet: 10.0.${i}.0/24, privateSubnets: [10.0.${100 + i}.0/24], natInstances: ${natInstances}, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: ${extraPrivateRouteTables}, floatingEni: true }`;
}

export interface FailoverLabOptions {
  prefix: string;
  /** The topology as YAML (realism, autoScaling, zones). */
  topology: string;
  /** Merged over labAgentConfig's defaults, section by section. */
  agentOverrides?: Record<string, Record<string, unknown>>;
  /** A NAT (ID or Name tag) whose agent starts first and takes the lease before the others start: the leader. */
  leaderFirst?: string;
}

export class FailoverLab {
  readonly agents: LabAgent[] = [];
  readonly table = 'natkeeper-failover';
  readonly topology: Topology;
  private dynamo: DynamoDBClient | undefined;
  private config: Record<string, unknown> = {};

  private constructor(
    readonly lab: RunningLab,
    readonly dir: string,
    readonly prefix: string,
    topology: Topology,
  ) {
    this.topology = topology;
  }

  /** Starts the lab and an agent on every NAT; resolves once every agent sees every NAT healthy. Closes what it started on failure. */
  static async start(opts: FailoverLabOptions): Promise<FailoverLab> {
    const topology = parseConfigText(topologySchema, opts.topology, 'test topology');
    const dir = mkdtempSync(join(tmpdir(), 'nk-failover-'));
    let lab: RunningLab | undefined;
    let fl: FailoverLab | undefined;
    try {
      lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: opts.prefix, dataPlane: 'on' });
      fl = new FailoverLab(lab, dir, opts.prefix, topology);
      await fl.dp().settled();
      await ensureLeaseTable(lab, fl.table);
      fl.config = labAgentConfig(topology, { leaseTable: fl.table, overrides: opts.agentOverrides ?? {} });
      if (opts.leaderFirst) {
        const first = fl.spawn(lab.resolveInstance(opts.leaderFirst));
        await until('the first agent holds the lease', async () => (await agentStatus(fl!.dp(), first).catch(() => undefined))?.lease?.heldBySelf === true, 30_000).catch((e: unknown) => fl!.explain(e));
      }
      for (const id of fl.nats()) if (!fl.agentOf(id)) fl.spawn(id);
      // Faults only once every agent runs and sees every NAT healthy: before that, the
      // leader rightly has nowhere usable to move egress.
      await fl.waitAllHealthy(60_000);
      return fl;
    } catch (e) {
      if (fl) await fl.close();
      else await closeAgentLab({ agents: [], lab, prefix: opts.prefix, dir });
      throw e;
    }
  }

  dp(): DataPlane {
    return this.lab.dataPlane!;
  }

  zone(name: string): ZoneManifest {
    const z = this.lab.manifest.zones.find((x) => x.name === name);
    if (!z) throw new Error(`no zone ${name} in the lab`);
    return z;
  }

  /** The NAT instances that run now (the manifest's, and the ASG's replacements). */
  nats(): string[] {
    return this.lab.store.instances
      .values()
      .filter((i) => i.role === 'nat' && (i.state === 'running' || i.state === 'pending'))
      .map((i) => i.instanceId);
  }

  agentOf(id: string): LabAgent | undefined {
    return this.agents.find((a) => a.id === id);
  }

  /** Starts an agent on the instance, as user-data would on AWS. */
  spawn(id: string): LabAgent {
    const a = spawnAgent(this.dp(), id, this.config, this.dir);
    this.agents.push(a);
    return a;
  }

  /**
   * Waits until a new instance runs and its namespace is built, then starts its agent
   * (user-data on AWS).
   */
  async spawnWhenReady(id: string, timeoutMs = 20_000): Promise<LabAgent> {
    await until(`${id} running with its namespace`, () => this.lab.store.instances.get(id)?.state === 'running' && this.dp().nsOf(id) !== undefined, timeoutMs);
    await this.dp().settled();
    return this.spawn(id);
  }

  /** The agents whose process still runs. */
  live(): LabAgent[] {
    return this.agents.filter((a) => a.child.exitCode === null && a.child.signalCode === null);
  }

  /** Every live agent healthy, each seeing every running NAT healthy. */
  async waitAllHealthy(timeoutMs: number): Promise<void> {
    await until(
      'every agent healthy, seeing every NAT healthy',
      async () => {
        const nats = this.nats();
        const ss = await Promise.all(this.live().map((a) => agentStatus(this.dp(), a))).catch(() => undefined);
        return ss?.every((s) => s.health.healthy && nats.every((n) => verdictOf(s, n)?.state === 'healthy')) ? true : undefined;
      },
      timeoutMs,
    ).catch((e: unknown) => this.explain(e));
  }

  /** The current lease holder, as the agents report it. */
  async leader(): Promise<{ holder: string; token: number }> {
    return until(
      'an agent reporting the lease holder',
      async () => {
        for (const a of this.live()) {
          const l = (await agentStatus(this.dp(), a).catch(() => undefined))?.lease;
          if (l?.holder && l.token !== undefined) return { holder: l.holder, token: l.token };
        }
        return undefined;
      },
      10_000,
    );
  }

  /** The public address the echo target saw from this app host, or undefined. */
  async egressOf(app: string): Promise<string | undefined> {
    const { echoTargets, echoPort } = this.topology.internet;
    return (await checkEgress(this.dp(), app, echoTargets[0]!, echoPort, 500)).seen;
  }

  /** The decision log, newest first. */
  async decisions(limit = 50): Promise<DecisionRecord[]> {
    if (!this.dynamo) {
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      this.dynamo = new DynamoDBClient({ endpoint: this.lab.endpoints.dynamodb, region: this.lab.manifest.region, credentials: { accessKeyId: 'AKIDLABTEST', secretAccessKey: 'lab-secret' }, maxAttempts: 1 });
    }
    return new DynamoDbLeaseStore({ client: this.dynamo, tableName: this.table, clock: { now: () => Date.now() } }).history(limit);
  }

  /** Mutating EC2 calls that arrived at the lab's API at or after `since` (epoch ms), optionally only those made by one instance. */
  mutatingCalls(opts: { since?: number; by?: string } = {}): RequestLogEntry[] {
    const key = opts.by && labAccessKeyIdOf(opts.by);
    return this.lab.api.requestLog.entries().filter((e) => e.mutating && e.time >= (opts.since ?? 0) && (!key || e.accessKeyId === key));
  }

  /** A route table's default route: its target (ENI, instance or gateway id) and where its packets go now (the NAT instance, or blackhole). */
  routeOf(tableId: string): { target: string | undefined; via: string | undefined } {
    const r = this.lab.store.routeTables.get(tableId)?.routes.find((x) => x.destinationCidrBlock === '0.0.0.0/0');
    if (!r) return { target: undefined, via: undefined };
    const hop = this.lab.store.routeNextHop(r);
    return { target: r.networkInterfaceId ?? r.instanceId ?? r.natGatewayId ?? r.gatewayId, via: hop.kind === 'eni' ? hop.instance.instanceId : hop.kind === 'blackhole' ? 'blackhole' : undefined };
  }

  /** Where the zone's private tables send egress now: one entry per table. */
  zoneVia(name: string): (string | undefined)[] {
    return this.zone(name).privateRouteTableIds.map((t) => this.routeOf(t).via);
  }

  /** Rethrows a failed wait with each agent's latest controller events. */
  explain(e: unknown): never {
    // An agent that exited shows its log's end (e.g. why its config was refused).
    const lines = (a: LabAgent) => (a.child.exitCode !== null ? [a.log.join('').slice(-1500)] : a.log.join('').split('\n').filter((l) => CONTROLLER_EVENTS.test(l)));
    const tail = this.agents.map((a) => `--- ${a.id} exit=${a.child.exitCode} signal=${a.child.signalCode}\n${lines(a).slice(-25).join('\n')}`).join('\n');
    throw new Error(`${(e as Error).message}\n${tail}`, { cause: e });
  }

  async close(): Promise<void> {
    this.dynamo?.destroy();
    await closeAgentLab({ agents: this.agents, lab: this.lab, prefix: this.prefix, dir: this.dir });
  }
}
