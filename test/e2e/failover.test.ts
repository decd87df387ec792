// Failover end to end (issue 4, tests 1 and 3): agents on every NAT of the lab, the lease
// holder's controller moves egress. A hard-killed active NAT in zone a (a standby beside it)
// → eni-move: the internet sees the same EIP before and after. Then the killed NAT comes
// back, and the now active one hangs (running, EC2 healthy, forwarding off) → detected from
// both vantages and the floating ENI moves back.
// Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEgress } from '../../lab/egress.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { parseConfigText } from '../../src/config/load-file.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { agentStatus, closeAgentLab, ensureLeaseTable, labAgentConfig, spawnAgent, verdictOf, type LabAgent } from '../../lab/agents.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkf${randomBytes(2).toString('hex')}-`;
const TABLE = 'natkeeper-failover';

describe.skipIf(skipE2e)(suiteName('failover in the lab: agents + the leader’s controller (root)'), () => {
  let lab: RunningLab;
  let dir: string;
  const agents: LabAgent[] = [];
  const killed = new Set<string>();
  // ENI attach/detach instant; EC2 notices a killed host only after 30 s (on AWS a failed host
  // can show as running for minutes), so the agents' data-path evidence must find it; no ASG
  // replacement during the test.
  const topology = parseConfigText(
    topologySchema,
    [
      'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0, killStateDelayMs: 30000 }',
      'autoScaling: { replacementDelayMs: 600000 }',
      // Zone a: three NATs, so after a hard kill there is still a standby for the hung-NAT test.
      'zones:',
      '  - { name: a, publicSubnet: 10.0.0.0/24, privateSubnets: [10.0.100.0/24], natInstances: 3, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true }',
      '  - { name: b, publicSubnet: 10.0.1.0/24, privateSubnets: [10.0.101.0/24], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true }',
    ].join('\n'),
    'test topology',
  );
  const echo = topology.internet.echoTargets[0]!;
  const dp = () => lab.dataPlane!;
  const zoneA = () => lab.manifest.zones[0]!;
  const eniA = () => lab.store.networkInterfaces.get(zoneA().floatingEniId!)!;
  /** A failed wait, with what each agent's controller and verdicts said. */
  const explain = (e: unknown): never => {
    const lines = (a: LabAgent) => a.log.join('').split('\n').filter((l) => /"event":"(decision|cycle_acted|cycle_failed|leader_elected|leader_lost|fenced_out|zone_action_failed|verdict_transition|dataplane_interfaces_changed)"/.test(l));
    const tail = agents.map((a) => `--- ${a.id} exit=${a.child.exitCode} signal=${a.child.signalCode}\n${lines(a).slice(-15).join('\n')}`).join('\n');
    throw new Error(`${(e as Error).message}\n${tail}`, { cause: e });
  };
  const egressOf = async (app: string) => (await checkEgress(dp(), app, echo, topology.internet.echoPort, 500)).seen;
  const decisions = () => new DynamoDbLeaseStore({ client: dynamoClient(), tableName: TABLE, clock: { now: () => Date.now() } }).history(20);
  let dynamoClient: () => import('@aws-sdk/client-dynamodb').DynamoDBClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nk-failover-'));
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: PREFIX, dataPlane: 'on' });
    await dp().settled();
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    dynamoClient = () => new DynamoDBClient({ endpoint: lab.endpoints.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLABTEST', secretAccessKey: 'lab-secret' }, maxAttempts: 1 });
    await ensureLeaseTable(lab, TABLE);
    const config = labAgentConfig(topology, { leaseTable: TABLE, overrides: { verdict: { minStableMs: 2_000 }, controller: { resyncMs: 2_000 }, handover: { drainTimeoutMs: 2_000 } } });
    const nats = lab.manifest.zones.flatMap((z) => z.natInstanceIds);
    for (const id of nats) agents.push(spawnAgent(dp(), id, config, dir));
    // Faults only once every agent runs and sees every NAT healthy: before that, the leader
    // rightly has nowhere usable to move egress but itself.
    await until(
      'every agent healthy, seeing every NAT healthy',
      async () => {
        const ss = await Promise.all(agents.map((a) => agentStatus(dp(), a))).catch(() => undefined);
        return ss?.every((s) => s.health.healthy && nats.every((n) => verdictOf(s, n)?.state === 'healthy')) ? true : undefined;
      },
      60_000,
    );
  }, 120_000);

  afterAll(() => closeAgentLab({ agents: agents, lab, prefix: PREFIX, dir }), 60_000);

  it('1. hard kill of zone a’s active NAT with a standby: eni-move, and the internet sees the same EIP', async () => {
    const [a1] = zoneA().natInstanceIds as [string];
    const standby = () => zoneA().natInstanceIds.find((id) => id !== a1 && eniA().attachment?.instanceId === id);
    const app = zoneA().appInstanceIds[0]!;
    expect(eniA().attachment?.instanceId).toBe(a1);
    const before = await until('app-a egress through the floating ENI', () => egressOf(app), 30_000);
    await lab.chaos.run({ verb: 'kill', instance: a1 });
    killed.add(a1);
    const killedAt = Date.now();
    await until('eni-a moved to a standby', () => standby() !== undefined && eniA().attachment?.status === 'attached', 20_000).catch(explain);
    const after = await until('egress back', () => egressOf(app), 10_000);
    console.log(`hard kill: eni-a on a standby and egress back ${Date.now() - killedAt} ms after the kill`);
    expect(after).toBe(before);
    const log = await decisions();
    expect(log[0]).toMatchObject({ action: 'failover', detail: { zone: 'a', strategy: 'eni-move', via: standby() } });
    console.log(`hard kill: decided on ${JSON.stringify(log[0]!.detail)}`);
  }, 60_000);

  it('3. hung NAT (running, EC2 healthy, forwarding off) on the now active NAT: found from both vantages, eni-a to the last standby', async () => {
    const app = zoneA().appInstanceIds[0]!;
    const active = eniA().attachment!.instanceId;
    // The killed NAT still shows running in EC2 (for 30 s): only the third is left.
    const last = zoneA().natInstanceIds.find((id) => id !== active && !killed.has(id))!;
    expect(last).toBeDefined();
    const before = await until('app-a egress', () => egressOf(app), 20_000);
    // The active NAT's agent has set its data plane up for the floating ENI it received
    // (masquerade on eth1); otherwise that setup would turn forwarding back on under us.
    await until('masquerade on the floating ENI of the active NAT', async () => {
      const nft = await dp().exec(active, ['nft', 'list', 'table', 'ip', 'natkeeper'], { timeoutMs: 5_000 });
      return nft.code === 0 && nft.stdout.includes('eth1') ? true : undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const log0 = (await decisions()).length;
    const r = await dp().exec(active, ['sysctl', '-w', 'net.ipv4.ip_forward=0'], { timeoutMs: 5_000 });
    expect(r.code).toBe(0);
    const hungAt = Date.now();
    await until('eni-a moved to the last standby', () => eniA().attachment?.instanceId === last && eniA().attachment?.status === 'attached', 30_000).catch(async (e: unknown) => {
      const views = await Promise.all(agents.filter((a) => a.child.exitCode === null && a.child.signalCode === null).map(async (a) => {
        const st = await agentStatus(dp(), a).catch(() => undefined);
        const probes = st?.probes.filter((p) => p.node === active).map((p) => `${p.vantage}:${p.target}:${p.ok ? 'ok' : p.error}`).join(' ');
        return `${a.id} sees ${active}: ${verdictOf(st!, active)?.state} (${verdictOf(st!, active)?.reason}); probes ${probes}; lease ${JSON.stringify(st?.lease)}`;
      }));
      const fwd = await dp().exec(active, ['sysctl', '-n', 'net.ipv4.ip_forward'], { timeoutMs: 5_000 });
      explain(new Error(`${(e as Error).message}\nip_forward on ${active}: ${fwd.stdout.trim()}\n${views.join('\n')}`));
    });
    const after = await until('egress back', () => egressOf(app), 10_000);
    console.log(`hung NAT: eni-a moved and egress back ${Date.now() - hungAt} ms after forwarding went off`);
    expect(after).toBe(before);
    expect(lab.store.instances.get(active)?.state).toBe('running');
    const log = await decisions();
    expect(log.length).toBeGreaterThan(log0);
    expect(log[0]).toMatchObject({ action: 'failover', detail: { zone: 'a', strategy: 'eni-move', via: last } });
    expect(JSON.stringify(log[0]!.detail)).toMatch(/is unhealthy/);
  }, 90_000);
});
