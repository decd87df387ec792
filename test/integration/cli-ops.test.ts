// natkeeper status / plan / history against the lab's EC2 API and a lease in dynalite.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContextDeps } from '../../src/cli/controller-context.js';
import { runHistoryCli } from '../../src/cli/history.js';
import { runPlanCli } from '../../src/cli/plan.js';
import { runStatusCli } from '../../src/cli/status.js';
import type { NodeVerdict } from '../../src/domain/verdict/types.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const clock = { now: () => Date.now() };

describe('operator commands', () => {
  let lab: ApiLab;
  let dynamo: DynaliteServer;
  let store: DynamoDbLeaseStore;
  let dir: string;
  let config: string;
  let verdicts: NodeVerdict[] = [];

  const run = async (cli: typeof runStatusCli, argv: string[], context: Partial<ContextDeps> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const agentFetch = (async () => new Response(JSON.stringify({ verdicts }), { status: 200 })) as unknown as typeof fetch;
    const code = await cli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), context: { ec2: lab.ec2, leaseStore: store, fetch: agentFetch, imds: { get: async () => undefined }, ...context } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    lab = await startApiLab();
    dynamo = await startDynalite();
    store = new DynamoDbLeaseStore({ client: dynamo.client(), tableName: 'natkeeper-cli', clock });
    await store.ensureTable();
    dir = mkdtempSync(join(tmpdir(), 'nk-cli-ops-'));
    config = join(dir, 'natkeeper.yaml');
    writeFileSync(config, `region: us-east-1\ncontroller: { vpcId: ${lab.manifest.vpcId} }\nlease: { table: natkeeper-cli }\n`);
    const nats = lab.manifest.zones.flatMap((z) => z.natInstanceIds);
    verdicts = nats.map((id) => ({ node: id, state: 'healthy', since: Date.now() - 600_000, code: 'recovered', reason: 'test' }));
  });
  afterAll(async () => {
    await lab?.close();
    await dynamo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status: every zone with the NAT it egresses through, nodes with EC2 state and verdict, the lease', async () => {
    const r = await run(runStatusCli, ['--config', config]);
    expect(r.code, r.err).toBe(0);
    const [a, b] = lab.manifest.zones;
    expect(r.out).toMatch(new RegExp(`^a\\s+${a!.natInstanceIds[0]}\\s+floating ENI\\s+1 → ${a!.floatingEniId}`, 'm'));
    expect(r.out).toMatch(new RegExp(`^b\\s+${b!.natInstanceIds[0]}\\s+floating ENI`, 'm'));
    expect(r.out).toMatch(new RegExp(`^${a!.natInstanceIds[1]}\\s+a\\s+running\\s+healthy`, 'm'));
    expect(r.out).toMatch(/lease: nobody holds it/);
    const j = await run(runStatusCli, ['--config', config, '--json']);
    const parsed = JSON.parse(j.out) as { zones: { zone: string; floatingEni: { attachedTo: string } }[]; lease: unknown };
    expect(parsed.zones.map((z) => z.zone)).toEqual(['a', 'b', 'c']);
    expect(parsed.zones[0]!.floatingEni.attachedTo).toBe(a!.natInstanceIds[0]);
  });

  it('plan: a stopped active NAT → eni-move to the standby, as 2 calls; nothing is changed', async () => {
    const [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    lab.store.stopInstance(a1);
    await until('a1 stopped', () => lab.store.instances.get(a1)?.state === 'stopped', 5_000);
    lab.api.requestLog.clear();
    const r = await run(runPlanCli, ['--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^a\\s+failover\\s+eni-move\\s+${a2}`, 'm'));
    expect(r.out).toMatch(/2 mutating call\(s\), in order:\n {2}1\. DetachNetworkInterface .* \(forced\)\n {2}2\. AttachNetworkInterface .* to i-/);
    expect(lab.api.requestLog.entries().map((e) => e.action).filter((x) => !x?.startsWith('Describe'))).toEqual([]);
  });

  it('plan without an agent: says verdicts are unavailable and chooses no NAT', async () => {
    const r = await run(runPlanCli, ['--config', config], { fetch: (async () => { throw new Error('ECONNREFUSED'); }) as unknown as typeof fetch });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^a\s+no-egress/m);
    expect(r.out).toMatch(/note: verdicts unavailable \(no agent at http:\/\/127\.0\.0\.1:9469\/status/);
  });

  it('history: the decision log, newest first, with tokens; --limit is checked', async () => {
    const held = await store.acquire('ctl-x', 5_000);
    await store.append({ holder: 'ctl-x', action: 'failover', detail: { zone: 'a', strategy: 'eni-move', via: 'i-2', reason: 'test reason' } }, held.token);
    const r = await run(runHistoryCli, ['--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^1\\s+\\S+\\s+${held.token}\\s+ctl-x\\s+failover\\s+a\\s+eni-move\\s+i-2\\s+test reason`, 'm'));
    const bad = await run(runHistoryCli, ['--config', config, '--limit', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('natkeeper history: --limit: expected a whole number from 1 to 1000, got "0"');
  });

  it('bad input: a missing --config, a bad config file, no VPC to look at — exit 2 naming the problem', async () => {
    expect((await run(runStatusCli, [])).err).toMatch(/--config/);
    expect((await run(runStatusCli, [])).code).toBe(2);
    const badFile = join(dir, 'bad.yaml');
    writeFileSync(badFile, 'controller: { vpcId: subnet-1 }\n');
    const bad = await run(runStatusCli, ['--config', badFile]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/controller\.vpcId: expected a VPC id like vpc-0123456789abcdef0/);
    const noVpc = join(dir, 'novpc.yaml');
    writeFileSync(noVpc, 'region: us-east-1\n');
    const r = await run(runStatusCli, ['--config', noVpc]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/controller\.vpcId: not set in the config and no instance metadata/);
  });
});
