// A lab with natkeeper agents on zone a's NAT nodes: each agent runs in its instance's
// namespace (`natkeeper agent --config FILE --state-file PATH`), static peer of the
// other, probing the lab's echo targets (TCP port 7) with the default intervals, the
// default verdict policy (minStableMs and minVantages overridable) and the lab's
// in-instance endpoints (EC2 API, DynamoDB lease table created from the host).
// Nothing here sends a packet from the host namespace into the lab.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLeaseTable, stopAgent } from '../../../lab/agents.js';
import { startLab, type RunningLab } from '../../../lab/lab.js';
import { randomPrefix } from '../../../lab/netns/names.js';
import { teardownLab, type DataPlane } from '../../../lab/netns/dataplane.js';
import { topologySchema } from '../../../lab/topology/schema.js';
import { IN_INSTANCE_ENDPOINTS } from '../../../lab/vpc-endpoints.js';

/** As in packaging/natkeeper-agent.service. */
const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96'];

export const MAIN_JS = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const LEASE_TABLE = 'natkeeper';
const ASG_A = 'natkeeper-a';

export interface AgentLabOptions {
  /** verdict.minStableMs (default: the agent's default, 10 000). */
  minStableMs?: number;
  /** verdict.minVantages (default: the agent's default, 2). */
  minVantages?: number;
  /** The ASG's replacement delay (a killed NAT is replaced after it). */
  replacementDelayMs?: number;
}

export interface RunningAgent {
  id: string;
  child: ChildProcess;
  pid: number;
  /** The tail of its stdout + stderr. */
  log(): string;
}

export interface AgentLab {
  lab: RunningLab;
  dp: DataPlane;
  /** Starts (or restarts) the agent on `id`, with `peer` as its static peer. */
  start(id: string, peer: string): RunningAgent;
  /** SIGTERM (then SIGKILL after 5 s); resolves when it has exited. */
  stop(id: string): Promise<void>;
  agent(id: string): RunningAgent | undefined;
  /** Zone a's NAT instances that run now, in the group's order. */
  runningNats(): string[];
  close(): Promise<void>;
}

export async function startAgentLab(opts: AgentLabOptions = {}): Promise<AgentLab> {
  const topology = topologySchema.parse({
    autoScaling: { replacementDelayMs: opts.replacementDelayMs ?? 1_000 },
    realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0 },
  });
  const prefix = randomPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'nk-agent-bench-'));
  const agents = new Map<string, RunningAgent>();
  let lab: RunningLab | undefined;
  const stop = async (id: string) => {
    const a = agents.get(id);
    agents.delete(id);
    if (a) await stopAgent(a);
  };
  const close = async () => {
    try {
      await Promise.all([...agents.keys()].map(stop));
      await lab?.close();
    } finally {
      await teardownLab(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix, dataPlane: 'on' });
    await ensureLeaseTable(lab, LEASE_TABLE);
  } catch (err) {
    await close();
    throw err;
  }
  const running = lab;
  const dp = running.dataPlane!;
  const targets = topology.internet.echoTargets.map((host) => ({ kind: 'tcp', host, port: topology.internet.echoPort }));

  const start = (id: string, peer: string): RunningAgent => {
    const ipOf = (i: string) => running.store.primaryInterface(i)!.privateIpAddress;
    const config = {
      // Probe namespaces under the lab's prefix: one per agent, removed by the lab's teardown.
      probe: { targets, selfNamespace: `${prefix}self-${id.slice(-8)}` },
      peers: { mode: 'static', nodes: [{ id: peer, address: ipOf(peer) }] },
      verdict: { ...(opts.minStableMs !== undefined ? { minStableMs: opts.minStableMs } : {}), ...(opts.minVantages !== undefined ? { minVantages: opts.minVantages } : {}) },
      endpoints: { ...IN_INSTANCE_ENDPOINTS },
      ec2: { sourceDestCheck: 'leave' },
      lease: { store: 'dynamodb', table: LEASE_TABLE },
      http: { listen: '127.0.0.1:9469' },
      log: { level: 'info' },
    };
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify(config));
    // The node flags of packaging/natkeeper-agent.service (NODE_OPTIONS), so RSS is measured as deployed.
    const child = dp.spawnIn(id, [process.execPath, ...AGENT_NODE_FLAGS, MAIN_JS, 'agent', '--config', file, '--state-file', join(dir, `${id}-state.json`)]);
    let tail = '';
    const keep = (d: string) => (tail = (tail + d).slice(-8_000));
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    // `ip netns exec` execs the command: the child's pid is the agent's.
    const a: RunningAgent = { id, child, pid: child.pid ?? -1, log: () => tail };
    agents.set(id, a);
    return a;
  };

  const runningNats = () => {
    const group = running.store.autoScalingGroups.get(ASG_A);
    return (group?.instances ?? []).map((m) => m.instanceId).filter((i) => running.store.instances.get(i)?.state === 'running');
  };

  return { lab: running, dp, start, stop, agent: (id) => agents.get(id), runningNats, close };
}
