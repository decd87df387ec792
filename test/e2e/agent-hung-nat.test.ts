// `natkeeper agent` on the two NAT nodes of zone a, each in its own lab namespace,
// static peers of each other, probing the lab's echo targets (TCP port 7) from itself
// and through the other. Both come up healthy; then a1 turns into a hung NAT
// (net.ipv4.ip_forward=0, instance still running): a2's agent, whose probes through a1
// fail, finds a1 unhealthy within k of n probes, a1's own agent reports its data plane
// changed (503 on /healthz), and a2 stays healthy. Traffic stays inside the lab.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { teardownLab } from '../../lab/netns/dataplane.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { parseConfigText } from '../../src/config/load-file.js';
import { distFile } from '../support/dist.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nka${randomBytes(2).toString('hex')}-`;
const K = 7;
const N = 10;
const INTERVAL_MS = 200;
const TIMEOUT_MS = 500;

interface Status {
  node: { id: string };
  setup: { state: string; reason?: string };
  selfTest: { state: string; reason?: string };
  probes: { node: string; target: string; vantage: string; ok: boolean }[];
  verdicts: { node: string; state: string; reason: string }[];
  peers: { id: string; lastHeartbeatAt?: number; lost: boolean; verdict?: string }[];
  health: { healthy: boolean; reason: string };
}

describe.skipIf(skipE2e)(suiteName('natkeeper agent: two NAT agents in the lab, one turns into a hung NAT (root)'), () => {
  let lab: RunningLab;
  let dir: string;
  let a1: string;
  let a2: string;
  const agents = new Map<string, { child: ChildProcess; log: string[] }>();
  const topology = parseConfigText(
    topologySchema,
    'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0 }',
    'test topology',
  );

  const status = async (id: string): Promise<Status> => {
    const script = "fetch('http://127.0.0.1:9469/status').then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })";
    const r = await lab.dataPlane!.exec(id, [process.execPath, '-e', script], { timeoutMs: 5_000 });
    if (r.code !== 0) throw new Error(`status of ${id}: exit ${r.code}: ${r.stderr}\nagent log:\n${agents.get(id)?.log.join('').slice(-3000)}`);
    return JSON.parse(r.stdout) as Status;
  };
  const verdictOf = (s: Status, node: string) => s.verdicts.find((v) => v.node === node);
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const until = Date.now() + timeoutMs;
    let last: Error | undefined;
    for (;;) {
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch (e) {
        last = e as Error;
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    const main = distFile('src/cli/main.js');
    dir = mkdtempSync(join(tmpdir(), 'nk-agent-e2e-'));
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: PREFIX, dataPlane: 'on' });
    [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    const ipOf = (id: string) => lab.store.primaryInterface(id)!.privateIpAddress;
    const targets = topology.internet.echoTargets.map((host) => ({ kind: 'tcp', host, port: topology.internet.echoPort, timeoutMs: TIMEOUT_MS }));
    expect(targets).toHaveLength(3);
    for (const [self, peer] of [
      [a1, a2],
      [a2, a1],
    ] as const) {
      const config = {
        probe: { intervalMs: INTERVAL_MS, targets },
        peers: { mode: 'static', nodes: [{ id: peer, address: ipOf(peer) }] },
        // Each agent sees a peer's NAT function from one vantage only (its own probes through it).
        verdict: { windowProbes: N, failuresToFail: K, minVantages: 1, minStableMs: 2_000 },
        http: { listen: '127.0.0.1:9469' },
        log: { level: 'info' },
      };
      const file = join(dir, `${self}.json`);
      writeFileSync(file, JSON.stringify(config));
      const child = lab.dataPlane!.spawnIn(self, [process.execPath, main, 'agent', '--config', file, '--state-file', join(dir, `${self}-state.json`)]);
      const log: string[] = [];
      child.stdout?.setEncoding('utf8').on('data', (d: string) => log.push(d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => log.push(d));
      agents.set(self, { child, log });
    }
  }, 120_000);

  afterAll(async () => {
    try {
      await Promise.all(
        [...agents.values()].map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
              child.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await lab?.close();
    } finally {
      await teardownLab(PREFIX);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('both agents set up the data plane, probe from themselves and through each other, and become healthy', async () => {
    for (const id of [a1, a2]) {
      const s = await waitFor(
        `${id} healthy`,
        async () => {
          const s = await status(id);
          const others = id === a1 ? a2 : a1;
          return s.health.healthy && verdictOf(s, id)?.state === 'healthy' && verdictOf(s, others)?.state === 'healthy' ? s : undefined;
        },
        30_000,
      );
      expect(s.node.id).toBe(id);
      expect(s.setup.state).toBe('passed');
      expect(s.selfTest.state).toBe('passed');
      expect(s.probes.filter((p) => p.vantage === 'self' && p.ok)).toHaveLength(3);
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

    // a1's own agent notices its data plane changed and stops reporting healthy.
    const own = await waitFor('a1 reports the drift', async () => ((await status(a1)).health.healthy ? undefined : status(a1)), 10_000);
    expect(own.selfTest.state).toBe('failed');
    expect(own.health.reason).toMatch(/net\.ipv4\.ip_forward/);
    expect(verdictOf(own, a2)?.state).toBe('healthy');

    // a2 is still healthy a while later (its probes through a1 keep failing, its own pass).
    await new Promise((res) => setTimeout(res, 2_000));
    const later = await status(a2);
    expect(later.health.healthy).toBe(true);
    expect(verdictOf(later, a2)?.state).toBe('healthy');
    expect(verdictOf(later, a1)?.state).toBe('unhealthy');
  }, 60_000);

  it('agents stop cleanly on SIGTERM, leaving the data plane in place', async () => {
    const { child } = agents.get(a2)!;
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    const nft = await lab.dataPlane!.exec(a2, ['nft', 'list', 'table', 'ip', 'natkeeper'], { timeoutMs: 5_000 });
    expect(nft.code).toBe(0);
    expect(agents.get(a2)!.log.join('')).toMatch(/"event":"agent_stopped"/);
  }, 30_000);
});
