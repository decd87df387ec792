// `natkeeper agent` on the two NAT nodes of zone a, each in its own lab namespace,
// static peers of each other, probing the lab's echo targets (TCP port 7) from itself
// and through the other. Both come up healthy; then a1 turns into a hung NAT
// (net.ipv4.ip_forward=0, instance still running): a2's agent, whose probes through a1
// fail, finds a1 unhealthy within k of n probes, a1's own agent reports its data plane
// changed (503 on /healthz), and a2 stays healthy. Traffic stays inside the lab.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { IN_INSTANCE_ENDPOINTS } from '../../lab/vpc-endpoints.js';
import { parseConfigText } from '../../src/config/load-file.js';
import { agentStatus, closeAgentLab, ensureLeaseTable, spawnAgent, stopAgent, verdictOf, type LabAgent, type StatusView } from '../../lab/agents.js';
import { until } from '../support/async.js';
import { distFile } from '../support/dist.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nka${randomBytes(2).toString('hex')}-`;
const K = 7;
const N = 10;
const INTERVAL_MS = 200;
const TIMEOUT_MS = 500;

describe.skipIf(skipE2e)(suiteName('natkeeper agent: two NAT agents in the lab, one turns into a hung NAT (root)'), () => {
  let lab: RunningLab;
  let dir: string;
  let a1: string;
  let a2: string;
  const agents = new Map<string, LabAgent>();
  const topology = parseConfigText(
    topologySchema,
    'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0 }',
    'test topology',
  );

  const status = (id: string): Promise<StatusView> => agentStatus(lab.dataPlane!, agents.get(id)!);
  /** Polls fn until it returns a value; a throw (agent not listening yet) counts as not yet. */
  const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => until(what, () => fn().catch(() => undefined), timeoutMs);

  beforeAll(async () => {
    distFile('src/cli/main.js');
    dir = mkdtempSync(join(tmpdir(), 'nk-agent-e2e-'));
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: PREFIX, dataPlane: 'on' });
    [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    await ensureLeaseTable(lab, 'natkeeper-e2e');
    const ipOf = (id: string) => lab.store.primaryInterface(id)!.privateIpAddress;
    const targets = topology.internet.echoTargets.map((host) => ({ kind: 'tcp', host, port: topology.internet.echoPort, timeoutMs: TIMEOUT_MS }));
    expect(targets).toHaveLength(3);
    for (const [self, peer] of [
      [a1, a2],
      [a2, a1],
    ] as const) {
      const config = {
        // The lab's EC2 API and DynamoDB, as seen from inside a NAT (never AWS's public endpoints).
        endpoints: IN_INSTANCE_ENDPOINTS,
        lease: { store: 'dynamodb', table: 'natkeeper-e2e' },
        probe: { intervalMs: INTERVAL_MS, targets },
        peers: { mode: 'static', nodes: [{ id: peer, address: ipOf(peer) }] },
        // Default minVantages (2): each node is seen from its own probe namespace and through the
        // other node; shared results give both agents both views.
        verdict: { windowProbes: N, failuresToFail: K, minStableMs: 2_000 },
        handover: { drainTimeoutMs: 2_000 },
        http: { listen: '127.0.0.1:9469' },
        log: { level: 'info' },
      };
      agents.set(self, spawnAgent(lab.dataPlane!, self, config, dir));
    }
  }, 120_000);

  afterAll(() => closeAgentLab({ agents: agents.values(), lab, prefix: PREFIX, dir }), 60_000);

  it('both agents set up the data plane, probe from themselves and through each other, and become healthy', async () => {
    for (const id of [a1, a2]) {
      const s = await waitFor(
        `${id} healthy`,
        async () => {
          const s = await status(id);
          const others = id === a1 ? a2 : a1;
          // The peer's own verdict arrives with its heartbeats, a little after ours of it.
          return s.health.healthy && verdictOf(s, id)?.state === 'healthy' && verdictOf(s, others)?.state === 'healthy' && s.peers[0]?.verdict === 'healthy' ? s : undefined;
        },
        30_000,
      );
      expect(s.node.id).toBe(id);
      expect(s.setup.state).toBe('passed');
      expect(s.selfTest.state).toBe('passed');
      expect(s.probes.filter((p) => p.node === id && p.vantage === 'self' && p.ok)).toHaveLength(3);
      expect(s.probes.filter((p) => p.vantage === `peer:${id}` && p.ok)).toHaveLength(3);
      expect(s.peers).toHaveLength(1);
      expect(s.peers[0]).toMatchObject({ lost: false, verdict: 'healthy' });
    }
  }, 60_000);

  it('a hung a1 (forwarding off) is unhealthy in a2’s verdict within k/n probes; a2 stays healthy', async () => {
    const r = await lab.dataPlane!.exec(a1, ['sysctl', '-w', 'net.ipv4.ip_forward=0'], { timeoutMs: 5_000 });
    expect(r.code).toBe(0);
    const faultAt = Date.now();
    const seen = await waitFor(
      'a1 unhealthy as seen by a2',
      async () => {
        const s = await status(a2);
        return verdictOf(s, a1)?.state === 'unhealthy' ? s : undefined;
      },
      15_000,
    );
    const detectedMs = Date.now() - faultAt;
    console.log(`hung NAT a1 detected by a2 in ${detectedMs} ms (k=${K}, n=${N}, interval ${INTERVAL_MS} ms)`);
    // k failed probes; a dropped probe lasts its timeout, so a round is max(interval, timeout); plus /status polling.
    expect(detectedMs).toBeLessThan(K * Math.max(INTERVAL_MS, TIMEOUT_MS) + 1_500);
    expect(verdictOf(seen, a1)?.reason).toMatch(/targets failing/);
    expect(seen.probes.filter((p) => p.node === a1 && !p.ok).length).toBeGreaterThanOrEqual(2);
    expect(verdictOf(seen, a2)?.state).toBe('healthy');
    expect(seen.health).toMatchObject({ healthy: true });

    // Both vantages saw it: a1's own probes (from its probe namespace, through its forwarding)
    // and a2's probes through a1.
    expect(new Set(seen.probes.filter((p) => p.node === a1 && !p.ok).map((p) => p.vantage))).toEqual(new Set(['self', `peer:${a2}`]));
    // a1's own agent finds itself unhealthy too, and stops reporting healthy.
    const own = await waitFor('a1 unhealthy in its own view', async () => {
      const s = await status(a1);
      return !s.health.healthy && verdictOf(s, a1)?.state === 'unhealthy' ? s : undefined;
    }, 10_000);
    // Whichever of its checks speaks first: its verdict, the drift check naming the sysctl,
    // or the setup it re-runs on that drift (CI once read it mid-run: "setup running").
    expect(own.health.reason).toMatch(/verdict unhealthy|net\.ipv4\.ip_forward|^setup running/);
    expect(verdictOf(own, a2)?.state).toBe('healthy');

    // a2 is still healthy a while later (its probes through a1 keep failing, its own pass).
    await new Promise((res) => setTimeout(res, 2_000));
    const later = await status(a2);
    expect(later.health.healthy).toBe(true);
    expect(verdictOf(later, a2)?.state).toBe('healthy');
    expect(verdictOf(later, a1)?.state).toBe('unhealthy');
  }, 60_000);

  it('agents stop cleanly on SIGTERM, leaving the data plane in place', async () => {
    const code = await stopAgent(agents.get(a2)!);
    expect(code).toBe(0);
    const nft = await lab.dataPlane!.exec(a2, ['nft', 'list', 'table', 'ip', 'natkeeper'], { timeoutMs: 5_000 });
    expect(nft.code).toBe(0);
    expect(agents.get(a2)!.log.join('')).toMatch(/"event":"agent_stopped"/);
  }, 30_000);
});
