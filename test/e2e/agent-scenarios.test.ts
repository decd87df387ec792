// `natkeeper agent` on all four NAT nodes of the lab (zone a: a1, a2 on one subnet; b1;
// c1), as in production: peers discovered by tag through the EC2 API, probe results
// shared in heartbeats (so zone a's nodes are seen from two vantages each and the
// default verdict.minVantages of 2 applies), leader election over DynamoDB (the lab's
// dynalite), source/dest check turned off through the API. The nodes start bare: no lab
// bootstrap NAT table, forwarding off, source/dest check on.
//
// Scenarios, in order, each restoring what it broke and waiting for every node healthy
// in every agent's view before the next:
//   1. the agents set up the data plane; every node healthy; app hosts reach the internet
//   2. exactly one agent holds the lease, and all agree on it
//   3. one echo target down: nobody is blamed
//   4. 20% packet loss on a1's links: nobody is blamed
//   5. every target down: every node internet-unreachable, none unhealthy
//   6. heartbeat path a1 ↔ a2 cut: peers lost, both stay healthy
//   7a. forwarding off on a1: unhealthy from both vantages (self probes cross forwarding)
//   7b. a1 loses its uplink (default route): unhealthy in a2's view and its own, others healthy
//
// "Nobody is blamed" is read from natkeeper_verdict_transitions_total{to="unhealthy"} of
// every agent, before and after: a verdict that flips between two /status reads counts too.
// Traffic stays inside the lab's namespaces; the agents' HTTP is read from inside them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEgress } from '../../lab/egress.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { IN_INSTANCE_ENDPOINTS } from '../../lab/vpc-endpoints.js';
import { parseConfigText } from '../../src/config/load-file.js';
import { agentMetrics, agentStatus, closeAgentLab, ensureLeaseTable, spawnAgent, sumOf, verdictOf, type LabAgent, type StatusView } from '../../lab/agents.js';
import { until } from '../support/async.js';
import { distFile } from '../support/dist.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nks${randomBytes(2).toString('hex')}-`;
const TABLE = 'natkeeper-e2e';
const K = 7;
const N = 10;
const INTERVAL_MS = 200;
const TIMEOUT_MS = 500;
const MIN_STABLE_MS = 2_000;
/** A round lasts max(interval, timeout) when probes time out. */
const ROUND_MS = Math.max(INTERVAL_MS, TIMEOUT_MS);
/** k failed rounds, plus slack for the verdict read and a round in flight. */
const DETECTION_BOUND_MS = K * ROUND_MS + 1_500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipE2e)(suiteName('natkeeper agent on every NAT of the lab: discovery, shared results, lease, faults (root)'), () => {
  let lab: RunningLab;
  let dir: string;
  let nats: string[] = [];
  let a1: string;
  let a2: string;
  let b1: string;
  let c1: string;
  const agents: LabAgent[] = [];
  const topology = parseConfigText(
    topologySchema,
    'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0 }',
    'test topology',
  );
  const targets = topology.internet.echoTargets;
  const dp = () => lab.dataPlane!;
  const agent = (id: string) => agents.find((a) => a.id === id)!;
  const name = (id: string) => lab.store.instance(id).tags.find((t) => t.key === 'Name')?.value ?? id;

  const statuses = () => Promise.all(agents.map((a) => agentStatus(dp(), a)));
  const summary = (ss: StatusView[]) =>
    ss
      .map((s) => `${name(s.node.id)}: ${s.health.healthy ? 'ok' : `NOT ok (${s.health.reason})`}; ${s.verdicts.map((v) => `${name(v.node)}=${v.state}`).join(' ')}; lost: ${s.peers.filter((p) => p.lost).map((p) => name(p.id)).join(',') || '-'}`)
      .join('\n  ');
  /** Polls every agent's /status until pred holds for all of them together; the timeout error shows the last reads. */
  const untilStatuses = async (what: string, pred: (ss: StatusView[]) => boolean, timeoutMs: number): Promise<StatusView[]> => {
    let last = 'no answer yet';
    try {
      return await until(
        what,
        async () => {
          const ss = await statuses().catch((e: unknown) => {
            last = String(e);
            return undefined;
          });
          if (!ss) return undefined;
          last = summary(ss);
          return pred(ss) ? ss : undefined;
        },
        timeoutMs,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last seen:\n  ${last}`, { cause: e });
    }
  };
  const everyNode = (s: StatusView, state: string) => nats.every((n) => verdictOf(s, n)?.state === state);
  const allHealthy = async (timeoutMs = 20_000) => {
    const t0 = Date.now();
    const ss = await untilStatuses('every agent healthy, seeing every node healthy', (ss) => ss.every((s) => s.health.healthy && everyNode(s, 'healthy')), timeoutMs);
    console.log(`all healthy after ${Date.now() - t0} ms`);
    return ss;
  };
  /** Transitions to unhealthy counted by each agent so far (node → count summed over agents). */
  const unhealthyTransitions = async (): Promise<Record<string, number>> => {
    const metrics = await Promise.all(agents.map((a) => agentMetrics(dp(), a)));
    return Object.fromEntries(nats.map((n) => [name(n), metrics.reduce((sum, m) => sum + sumOf(m, 'natkeeper_verdict_transitions_total', { node: n, to: 'unhealthy' }), 0)]));
  };
  const chaos = (req: Parameters<RunningLab['chaos']['run']>[0]) => lab.chaos.run(req);
  const inNs = async (id: string, argv: string[]) => {
    const r = await dp().exec(id, argv, { timeoutMs: 5_000 });
    expect(r.code, `${argv.join(' ')} in ${name(id)}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    const main = distFile('src/cli/main.js');
    distFile('lab/netns/echo-client.js');
    expect(main).toBeTruthy();
    dir = mkdtempSync(join(tmpdir(), 'nk-agent-scenarios-'));
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: PREFIX, dataPlane: 'on' });
    nats = lab.manifest.zones.flatMap((z) => z.natInstanceIds);
    expect(nats).toHaveLength(4);
    [a1, a2, b1, c1] = nats as [string, string, string, string];
    await dp().settled();

    // Bare nodes: no bootstrap masquerade, forwarding off, source/dest check on every ENI.
    for (const id of nats) {
      await inNs(id, ['nft', 'delete', 'table', 'ip', 'natkeeper_lab_bootstrap']);
      await inNs(id, ['sysctl', '-w', 'net.ipv4.ip_forward=0']);
      lab.store.setSourceDestCheck(id, true);
      for (const eni of lab.store.interfacesOf(id)) lab.store.setSourceDestCheck(eni.networkInterfaceId, true);
    }
    await dp().settled();
    const app = lab.manifest.zones[0]!.appInstanceIds[0]!;
    expect((await checkEgress(dp(), app, targets[0]!, topology.internet.echoPort)).seen, 'no egress before the agents run').toBeUndefined();

    // The lease table, created from the host through the lab's DynamoDB endpoint.
    await ensureLeaseTable(lab, TABLE);

    const config = {
      endpoints: IN_INSTANCE_ENDPOINTS,
      probe: { intervalMs: INTERVAL_MS, targets: targets.map((host) => ({ kind: 'tcp', host, port: topology.internet.echoPort, timeoutMs: TIMEOUT_MS })) },
      peers: { mode: 'discover' },
      // Default minVantages (2): zone a's nodes are seen from themselves and from each other.
      verdict: { windowProbes: N, failuresToFail: K, minStableMs: MIN_STABLE_MS },
      lease: { store: 'dynamodb', table: TABLE, ttlMs: 3_000, renewEveryMs: 1_000 },
      http: { listen: '127.0.0.1:9469' },
      log: { level: 'info' },
    };
    for (const id of nats) agents.push(spawnAgent(dp(), id, config, dir));
  }, 120_000);

  afterAll(() => closeAgentLab({ agents: agents, lab, prefix: PREFIX, dir }), 60_000);

  it('1. from bare nodes, every agent sets up its data plane, self-tests, and sees all four nodes healthy; app hosts reach the internet', async () => {
    await allHealthy(45_000);
    // Peers' own verdicts arrive in heartbeats, one interval behind: wait for them too.
    const ss = await untilStatuses('every peer heard healthy', (ss) => ss.every((s) => everyNode(s, 'healthy') && s.peers.length === 3 && s.peers.every((p) => !p.lost && p.verdict === 'healthy')), 10_000);
    for (const s of ss) {
      const id = s.node.id;
      expect(s.setup.state, name(id)).toBe('passed');
      expect(s.selfTest.state, name(id)).toBe('passed');
      // Discovered: the other three NATs, heartbeats flowing.
      expect(s.peers.map((p) => p.id).sort(), name(id)).toEqual(nats.filter((n) => n !== id).sort());
      for (const p of s.peers) expect(p, `${name(id)}'s peer ${name(p.id)}`).toMatchObject({ lost: false, verdict: 'healthy' });
      expect(s.verdicts.map((v) => v.node).sort()).toEqual([...nats].sort());
      // Own probes: every target passing.
      expect(s.probes.filter((p) => p.node === id && p.vantage === 'self' && p.ok), name(id)).toHaveLength(targets.length);
    }
    // Only on-link peers are probed through: zone a's two nodes are each seen from two vantages, b1 and c1 from one.
    const vantages = (s: StatusView, node: string) => [...new Set(s.probes.filter((p) => p.node === node).map((p) => p.vantage))].sort();
    const sa1 = ss.find((s) => s.node.id === a1)!;
    expect(vantages(sa1, a1)).toEqual([`peer:${a2}`, 'self']);
    expect(vantages(sa1, a2)).toEqual([`peer:${a1}`, 'self']);
    expect(vantages(sa1, b1)).toEqual(['self']);
    expect(vantages(ss.find((s) => s.node.id === b1)!, b1)).toEqual(['self']);
    // a2's probes through a1 reach b1's and c1's agents in shared results.
    for (const id of [b1, c1]) expect(vantages(ss.find((s) => s.node.id === id)!, a1), name(id)).toEqual([`peer:${a2}`, 'self']);

    // The EC2 side: source/dest check off on every ENI of every NAT (the floating ENI included).
    for (const id of nats) for (const eni of lab.store.interfacesOf(id)) expect(eni.sourceDestCheck, `${name(id)} ${eni.networkInterfaceId}`).toBe(false);
    for (const id of nats) expect((await inNs(id, ['sysctl', '-n', 'net.ipv4.ip_forward'])).trim(), name(id)).toBe('1');

    // Egress: each zone's first app host leaves through its zone's floating ENI (carried by a1, b1, c1).
    for (const zone of lab.manifest.zones) {
      const eip = lab.store.addresses.values().find((a) => a.networkInterfaceId === zone.floatingEniId)!.publicIp;
      const r = await checkEgress(dp(), zone.appInstanceIds[0]!, targets[0]!, topology.internet.echoPort);
      expect(r.seen, `zone ${zone.name} egress`).toBe(eip);
    }
  }, 60_000);

  it('2. exactly one agent holds the lease, every agent sees the same holder, and its natkeeper_lease_holder is 1', async () => {
    // Leadership settles once verdicts do: a holder that carries a floating ENI hands the
    // lease to a healthy node that carries none (docs/controller.md), so read it after that,
    // and read /status and /metrics as one snapshot (retried if the lease moved in between).
    await allHealthy();
    const { ss, holder } = await until(
      'one lease holder seen by all, in /status and in its metric',
      async () => {
        const ss = await statuses().catch(() => undefined);
        const held = ss?.filter((s) => s.lease?.heldBySelf) ?? [];
        if (!ss || held.length !== 1 || new Set(ss.map((s) => s.lease?.holder)).size !== 1) return undefined;
        const holder = held[0]!.node.id;
        const gauges = await Promise.all(agents.map(async (a) => sumOf(await agentMetrics(dp(), a), 'natkeeper_lease_holder') === (a.id === holder ? 1 : 0)));
        return gauges.every(Boolean) ? { ss, holder } : undefined;
      },
      20_000,
    );
    expect(nats).toContain(holder);
    for (const s of ss) {
      expect(s.lease, name(s.node.id)).toMatchObject({ holder, heldBySelf: s.node.id === holder });
      expect(s.lease!.token).toBe(ss[0]!.lease!.token);
    }
    console.log(`lease held by ${name(holder)} (token ${ss[0]!.lease!.token})`);
  }, 60_000);

  it('3. one echo target of three down: for 25+ probe rounds no node is blamed', async () => {
    await allHealthy();
    const before = await unhealthyTransitions();
    await chaos({ verb: 'target-down', ip: targets[0]! });
    try {
      await sleep(25 * INTERVAL_MS);
      const ss = await statuses();
      // The fault is real: every agent's own probes of that target fail.
      for (const s of ss) expect(s.probes.find((p) => p.node === s.node.id && p.vantage === 'self' && p.target.includes(targets[0]!))?.ok, name(s.node.id)).toBe(false);
      for (const s of ss) expect(s.verdicts.filter((v) => v.state === 'unhealthy'), name(s.node.id)).toEqual([]);
      expect(await unhealthyTransitions()).toEqual(before);
    } finally {
      await chaos({ verb: 'target-up', ip: targets[0]! });
    }
    await allHealthy();
  }, 40_000);

  it('4. 20% packet loss on a1’s links (both directions) for 10 s: no node is blamed', async () => {
    // chaos loss applies to an instance's links (not to a target): a1's own probes cross its
    // links twice (~36% fail), a2's probes through a1 four times (~59% fail).
    await allHealthy();
    const before = await unhealthyTransitions();
    const failures = async () => sumOf(await agentMetrics(dp(), agent(a1)), 'natkeeper_probe_failures_total');
    const failedBefore = await failures();
    await chaos({ verb: 'loss', instance: a1, pct: 20 });
    try {
      await sleep(10_000);
      expect(await failures(), 'a1’s probes do fail under the loss').toBeGreaterThan(failedBefore);
      const ss = await statuses();
      for (const s of ss) expect(s.verdicts.filter((v) => v.state === 'unhealthy'), name(s.node.id)).toEqual([]);
      expect(await unhealthyTransitions()).toEqual(before);
    } finally {
      await chaos({ verb: 'loss', instance: a1, pct: 0 });
    }
    await allHealthy();
  }, 45_000);

  it('5. every target unreachable from every node: all verdicts internet-unreachable, none unhealthy; then healthy again', async () => {
    await allHealthy();
    const before = await unhealthyTransitions();
    for (const ip of targets) await chaos({ verb: 'target-down', ip });
    try {
      await untilStatuses('every agent sees every node internet-unreachable', (ss) => ss.every((s) => everyNode(s, 'internet-unreachable')), 15_000);
      const ss = await statuses();
      for (const s of ss) {
        expect(s.verdicts.filter((v) => v.state === 'unhealthy'), name(s.node.id)).toEqual([]);
        // internet-unreachable does not blame the node: /healthz stays 200.
        expect(s.health.healthy, name(s.node.id)).toBe(true);
      }
      expect(await unhealthyTransitions()).toEqual(before);
    } finally {
      for (const ip of targets) await chaos({ verb: 'target-up', ip });
    }
    await allHealthy();
    expect(await unhealthyTransitions()).toEqual(before);
  }, 50_000);

  it('6. heartbeat path between a1 and a2 cut: each sees the other lost, both stay healthy for 5 s', async () => {
    await allHealthy();
    const before = await unhealthyTransitions();
    await chaos({ verb: 'partition', a: a1, b: a2 });
    try {
      const lostEachOther = (ss: StatusView[]) =>
        ss.find((s) => s.node.id === a1)!.peers.find((p) => p.id === a2)?.lost === true && ss.find((s) => s.node.id === a2)!.peers.find((p) => p.id === a1)?.lost === true;
      await untilStatuses('a1 and a2 lose each other', lostEachOther, 5_000);
      await sleep(5_000);
      const ss = await statuses();
      expect(lostEachOther(ss)).toBe(true);
      for (const s of ss) {
        for (const p of s.peers) if (![a1, a2].includes(p.id) || ![a1, a2].includes(s.node.id)) expect(p.lost, `${name(s.node.id)} → ${name(p.id)}`).toBe(false);
        expect(verdictOf(s, a1)?.state, `a1 in ${name(s.node.id)}'s view`).toBe('healthy');
        expect(verdictOf(s, a2)?.state, `a2 in ${name(s.node.id)}'s view`).toBe('healthy');
      }
      expect(await unhealthyTransitions()).toEqual(before);
    } finally {
      await chaos({ verb: 'heal', a: a1, b: a2 });
    }
    await untilStatuses('heartbeats back', (ss) => ss.every((s) => s.peers.every((p) => !p.lost)), 5_000);
    await allHealthy();
  }, 40_000);

  // Both vantages see it: a1's own probes leave from its probe namespace through its
  // forwarding path, and a2's probes go through a1.
  it('7a. forwarding off on a1 (a hung NAT): unhealthy in a2’s view and its own within k/n rounds', async () => {
    await allHealthy();
    await inNs(a1, ['sysctl', '-w', 'net.ipv4.ip_forward=0']);
    const faultAt = Date.now();
    try {
      const ss = await untilStatuses(
        'a1 unhealthy in a1’s and a2’s views',
        (ss) => [a1, a2].every((id) => verdictOf(ss.find((s) => s.node.id === id)!, a1)?.state === 'unhealthy'),
        DETECTION_BOUND_MS,
      );
      console.log(`forwarding-off a1 found unhealthy by a2 after ${verdictOf(ss.find((s) => s.node.id === a2)!, a1)!.since - faultAt} ms`);
    } finally {
      await inNs(a1, ['sysctl', '-w', 'net.ipv4.ip_forward=1']);
      await allHealthy();
    }
  }, 40_000);

  it('7b. a1 loses its uplink (default route gone): unhealthy in a2’s view and its own within k/n rounds; a2, b1, c1 stay healthy', async () => {
    await allHealthy();
    // Both of a1's vantages fail now: its own probes (no route) and a2's through it (nowhere to forward).
    await inNs(a1, ['sh', '-c', 'while ip route del default 2>/dev/null; do :; done; ! ip route show default | grep -q .']);
    const faultAt = Date.now();
    const ss = await untilStatuses(
      'a1 unhealthy in a1’s and a2’s views',
      (ss) => [a1, a2].every((id) => verdictOf(ss.find((s) => s.node.id === id)!, a1)?.state === 'unhealthy'),
      10_000,
    );
    const sa2 = ss.find((s) => s.node.id === a2)!;
    const detectedMs = verdictOf(sa2, a1)!.since - faultAt;
    console.log(`a1 without uplink found unhealthy by a2 after ${detectedMs} ms, by itself after ${verdictOf(ss.find((s) => s.node.id === a1)!, a1)!.since - faultAt} ms (k=${K}, n=${N}, interval ${INTERVAL_MS} ms, timeout ${TIMEOUT_MS} ms)`);
    expect(detectedMs).toBeLessThan(DETECTION_BOUND_MS);
    expect(verdictOf(sa2, a1)?.reason).toMatch(/targets failing/);
    expect(verdictOf(sa2, a1)?.reason).toContain(`peer:${a2}`);
    for (const s of ss) for (const n of [a2, b1, c1]) expect(verdictOf(s, n)?.state, `${name(n)} in ${name(s.node.id)}'s view`).toBe('healthy');
    expect(sa2.health.healthy).toBe(true);
    // a1's own /healthz turns 503 on its own verdict.
    expect(ss.find((s) => s.node.id === a1)!.health).toMatchObject({ healthy: false, reason: expect.stringMatching(/verdict unhealthy/) as unknown });
  }, 30_000);
});
