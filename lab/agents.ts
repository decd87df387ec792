// `natkeeper agent` processes inside a lab's instance namespaces, for the e2e tests, the
// demo and the benchmarks: spawn one per NAT, read its /status and /metrics from inside
// its namespace (the agent listens on the namespace's loopback; nothing is reachable
// from the host), stop them.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus, Health, ProbeStatus } from '../src/agent/status.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb.js';
import type { RunningLab } from './lab.js';
import { teardownLab, type DataPlane } from './netns/dataplane.js';
import { repoRoot } from './netns/paths.js';
import type { Topology } from './topology/schema.js';
import { IN_INSTANCE_ENDPOINTS } from './vpc-endpoints.js';

/** /status as served: the agent's status plus its health; each probe names the node it tested (ProbeRecord). */
export type StatusView = Omit<AgentStatus, 'probes'> & { probes: (ProbeStatus & { node: string })[]; health: Health };

export interface LabAgent {
  id: string;
  child: ChildProcess;
  /** stdout and stderr (JSON log lines), in arrival order. */
  log: string[];
  /** The HTTP port inside the namespace (from the config's http.listen). */
  port: number;
}

/** The built CLI (dist/src/cli/main.js); throws with the fix when it has not been built. */
export function natkeeperCli(): string {
  const path = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (make build)`);
  return path;
}

/**
 * Writes `config` to DIR/ID.json and starts `natkeeper agent` (the built CLI) in the
 * instance's namespace, with its data-plane state file in DIR. The config must set
 * http.listen to 127.0.0.1:PORT (default 9469).
 */
export function spawnAgent(dp: DataPlane, id: string, config: Record<string, unknown>, dir: string): LabAgent {
  const listen = (config.http as { listen?: string } | undefined)?.listen ?? '127.0.0.1:9469';
  const port = Number(listen.split(':').pop());
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(withSelfNamespace(config, dp.prefix, id)));
  const child = dp.spawnIn(id, [process.execPath, natkeeperCli(), 'agent', '--config', file, '--state-file', join(dir, `${id}-state.json`)]);
  const log: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => log.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => log.push(d));
  return { id, child, log, port };
}

/**
 * Each agent's probe namespace gets a name of its own under the lab's prefix: names are
 * global on the host, and the lab's teardown removes everything under its prefix.
 */
export function withSelfNamespace(config: Record<string, unknown>, prefix: string, id: string): Record<string, unknown> {
  const probe = (config.probe ?? {}) as Record<string, unknown>;
  return { ...config, probe: { selfNamespace: `${prefix}self-${id.slice(-8)}`, ...probe } };
}

/** curl starts in milliseconds where node takes a few hundred on a loaded machine; node is the fallback. */
const curl = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));

/** GET http://127.0.0.1:PORT/PATH inside the agent's namespace; the body, or a throw naming the agent (with its log's tail). */
export async function agentGet(dp: DataPlane, agent: LabAgent, path: string): Promise<string> {
  const url = `http://127.0.0.1:${agent.port}${path}`;
  const argv = curl
    ? [curl, '--silent', '--show-error', '--max-time', '4', url]
    : [process.execPath, '-e', `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })`];
  const r = await dp.exec(agent.id, argv, { timeoutMs: 5_000 });
  if (r.code !== 0) throw new Error(`GET ${path} of ${agent.id}: exit ${r.code}: ${r.stderr}\nagent log:\n${agent.log.join('').slice(-3000)}`);
  return r.stdout;
}

export async function agentStatus(dp: DataPlane, agent: LabAgent): Promise<StatusView> {
  return JSON.parse(await agentGet(dp, agent, '/status')) as StatusView;
}

/** One Prometheus sample: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (samples only; comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function agentMetrics(dp: DataPlane, agent: LabAgent): Promise<Sample[]> {
  return parseMetrics(await agentGet(dp, agent, '/metrics'));
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

export const verdictOf = (s: StatusView, node: string) => s.verdicts.find((v) => v.node === node);

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
export function stopAgent(agent: Pick<LabAgent, 'child'>, graceMs = 5_000): Promise<number | null> {
  const { child } = agent;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Creates the agents' lease table in the lab's DynamoDB (dynalite), from the host. */
export async function ensureLeaseTable(lab: RunningLab, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint: lab.endpoints.dynamodb, region: lab.manifest.region, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
  try {
    await new DynamoDbLeaseStore({ client, tableName, clock: { now: () => Date.now() } }).ensureTable();
  } finally {
    client.destroy();
  }
}

/** afterAll of the agent e2e tests: agents stopped, the lab closed, and always its namespaces and the run dir removed. */
export async function closeAgentLab(opts: { agents: Iterable<LabAgent>; lab: RunningLab | undefined; prefix: string; dir: string | undefined }): Promise<void> {
  try {
    await Promise.all([...opts.agents].map((a) => stopAgent(a)));
    await opts.lab?.close();
  } finally {
    await teardownLab(opts.prefix);
    if (opts.dir) rmSync(opts.dir, { recursive: true, force: true });
  }
}

/** What labAgentConfig may change from the lab defaults. */
export interface LabAgentConfigOptions {
  /** The lease table in the lab's DynamoDB (create it with ensureLeaseTable). */
  leaseTable: string;
  /** Per-probe timeout against the lab's echo targets (default 500 ms: they answer in about a millisecond). */
  probeTimeoutMs?: number;
  /** Merged over the defaults, section by section (e.g. { controller: { failbackAfterMs: 5000 } }). */
  overrides?: Record<string, Record<string, unknown>>;
}

/**
 * The agent config every lab run starts from: peers discovered by tag (the default),
 * the lab's in-instance EC2/DynamoDB endpoints, TCP probes to the lab's echo targets,
 * a DynamoDB lease with a 3 s TTL renewed every second, and the controller on.
 */
export function labAgentConfig(topology: Pick<Topology, 'internet'>, opts: LabAgentConfigOptions): Record<string, unknown> {
  const { echoTargets, echoPort } = topology.internet;
  const base: Record<string, Record<string, unknown>> = {
    endpoints: { ...IN_INSTANCE_ENDPOINTS },
    probe: { targets: echoTargets.map((host) => ({ kind: 'tcp', host, port: echoPort, timeoutMs: opts.probeTimeoutMs ?? 500 })) },
    lease: { store: 'dynamodb', table: opts.leaseTable, ttlMs: 3_000, renewEveryMs: 1_000 },
    http: { listen: '127.0.0.1:9469' },
  };
  for (const [section, values] of Object.entries(opts.overrides ?? {})) base[section] = { ...base[section], ...values };
  return base;
}

/** One JSON log line of an agent: its event name, time and fields. */
export type AgentLogEvent = { event: string; time: string } & Record<string, unknown>;

/** The agent's JSON log lines so far whose event is one of `events` (other lines skipped). */
export function agentEvents(agent: LabAgent, events: readonly string[]): AgentLogEvent[] {
  const out: AgentLogEvent[] = [];
  for (const line of agent.log.join('').split('\n')) {
    if (!events.some((e) => line.includes(`"event":"${e}"`))) continue;
    try {
      out.push(JSON.parse(line) as AgentLogEvent);
    } catch {
      // a line still being written
    }
  }
  return out;
}
