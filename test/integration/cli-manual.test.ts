// natkeeper failover / failback against the lab's EC2 API and a DynamoDB lease in dynalite,
// carried out by a real controller cycle that holds the lease: the request is checked,
// refused with a reason when unsafe, written with the holder's fencing token, and applied.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeadership, type Leadership } from '../../src/agent/leadership.js';
import { createClientThrottle, EC2_MUTATING_BUCKET } from '../../src/aws/throttle.js';
import { runFailbackCli, runFailoverCli } from '../../src/cli/manual.js';
import { createExecutor } from '../../src/controller/executor.js';
import { createController, type Controller } from '../../src/controller/loop.js';
import { intentsFrom, OPERATOR_FAILOVER } from '../../src/controller/operator-intents.js';
import { DEFAULT_PLANNER_POLICY } from '../../src/domain/planner/index.js';
import type { NodeVerdict } from '../../src/domain/verdict/types.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const clock = { now: () => Date.now() };
const TABLE = 'natkeeper-manual';
const MUTATING = new Set(['DetachNetworkInterface', 'AttachNetworkInterface', 'ReplaceRoute', 'ReplaceRouteTableAssociation']);

describe('manual failover and failback', () => {
  let lab: ApiLab;
  let dynamo: DynaliteServer;
  let store: DynamoDbLeaseStore;
  let leadership: Leadership;
  let controller: Controller;
  let dir: string;
  let config: string;
  let unhealthy = new Set<string>();

  const verdicts = (): NodeVerdict[] =>
    lab.manifest.zones.flatMap((z) => z.natInstanceIds).map((id) => ({ node: id, state: unhealthy.has(id) ? 'unhealthy' : 'healthy', since: Date.now() - 600_000, code: 'recovered', reason: 'test' }));
  const run = async (cli: typeof runFailoverCli, argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const agentFetch = (async () => new Response(JSON.stringify({ verdicts: verdicts() }), { status: 200 })) as unknown as typeof fetch;
    const code = await cli(['--config', config, ...argv], { out: (s) => out.push(s), err: (s) => err.push(s), context: { ec2: lab.ec2, leaseStore: store, fetch: agentFetch, imds: { get: async () => undefined } } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const eniA = () => lab.store.networkInterfaces.get(lab.manifest.zones[0]!.floatingEniId!)!;
  const mutating = () => lab.api.requestLog.entries().filter((e) => MUTATING.has(e.action ?? '')).length;

  beforeAll(async () => {
    lab = await startApiLab({
      topology: {
        zones: [
          { name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
          { name: 'b', publicSubnet: '10.0.1.0/24', privateSubnets: ['10.0.101.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: false },
        ],
      },
    });
    dynamo = await startDynalite();
    store = new DynamoDbLeaseStore({ client: dynamo.client(), tableName: TABLE, clock });
    await store.ensureTable();
    dir = mkdtempSync(join(tmpdir(), 'nk-cli-manual-'));
    config = join(dir, 'natkeeper.yaml');
    writeFileSync(config, `region: us-east-1\ncontroller: { vpcId: ${lab.manifest.vpcId} }\nlease: { table: ${TABLE} }\n`);
  });
  afterAll(async () => {
    await leadership?.stop();
    await controller?.stop();
    await lab?.close();
    await dynamo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refused without a lease holder: nobody would carry it out; nothing written', async () => {
    const r = await run(runFailoverCli, ['--zone', 'a', '--wait', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no controller holds the lease/);
    expect(await store.history(10)).toEqual([]);
  });

  it('bad arguments name the flag and exit 2; unsafe requests are refused with the reason (exit 1); nothing changes', async () => {
    leadership = createLeadership({ store, self: 'ctl', ttlMs: 6_000, renewEveryMs: 1_000, clock, logger: silentLogger });
    leadership.start();
    await until('ctl leads', () => leadership.isLeader(), 5_000);
    const executor = createExecutor({ ec2: lab.ec2, fence: leadership, decisionLog: store, holder: 'ctl', throttle: createClientThrottle({ ...EC2_MUTATING_BUCKET, clock }), clock, logger: silentLogger, pollMs: 20 });
    controller = createController({ ec2: lab.ec2, fence: leadership, decisionLog: store, executor, observe: { vpcId: lab.manifest.vpcId }, policy: DEFAULT_PLANNER_POLICY, verdicts, clock, logger: silentLogger });
    expect((await controller.cycle()).plan?.actions).toEqual([]);
    lab.api.requestLog.clear();

    const cases: [string[], number, RegExp][] = [
      [['--zone', 'z'], 2, /--zone: no zone "z" .* known: a, b/],
      [['--zone', 'a', '--to', 'i-nope'], 2, /--to: i-nope is not a NAT node of this VPC/],
      [['--zone', 'a', '--for', 'forever'], 2, /--for: expected a duration like 30m/],
      [['--zone', 'a', '--wait', '-1'], 2, /--wait: expected whole seconds/],
      [['--zone', 'a', '--to', lab.manifest.zones[0]!.natInstanceIds[0]!], 1, /already carries zone a's egress/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await run(runFailoverCli, argv);
      expect([r.code, r.err]).toEqual([code, expect.stringMatching(message)]);
    }
    // The only other NAT of zone a is unhealthy, and so is zone b's: nowhere to go.
    unhealthy = new Set([lab.manifest.zones[0]!.natInstanceIds[1]!, lab.manifest.zones[1]!.natInstanceIds[0]!]);
    const r = await run(runFailoverCli, ['--zone', 'a']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no healthy NAT can take zone a's egress now/);
    unhealthy = new Set();
    const back = await run(runFailbackCli, ['--zone', 'a']);
    expect(back.code).toBe(1);
    expect(back.err).toMatch(/zone a would not fail back now: egress through a zone-local NAT/);
    expect(await store.history(10)).toEqual([]);
    expect(mutating()).toBe(0);
  });

  it('failover --zone a: written with the holder’s token, applied by the controller as an eni-move to the standby (2 calls)', async () => {
    const [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    const cli = run(runFailoverCli, ['--zone', 'a', '--wait', '10']);
    // The controller's next cycle (its resync, shortened here) picks the request up.
    const written = await until('the request in the log', async () => (await store.history(5)).find((r) => r.action === OPERATOR_FAILOVER), 5_000);
    expect(written).toMatchObject({ token: leadership.token(), detail: { zone: 'a', from: a1 } });
    await controller.cycle();
    const r = await cli;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`zone a: ${a1} → ${a2} by eni-move`));
    expect(r.out).toMatch(/decision \d+ by ctl \(token \d+\): handover/);
    expect(eniA().attachment?.instanceId).toBe(a2);
    expect(mutating()).toBe(2);
    // Level-triggered: the next cycle changes nothing, and a1 is not chosen while the request lasts.
    expect((await controller.cycle()).plan?.actions).toEqual([]);
  });

  it('failover --zone b --to a NAT of zone a: route-replace to it; failback --zone b brings it home at once (no failbackAfter wait)', async () => {
    const [, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    const b1 = lab.manifest.zones[1]!.natInstanceIds[0]!;
    const rtbB = () => lab.store.routeTables.get(lab.manifest.zones[1]!.privateRouteTableIds[0]!)!.routes.find((x) => x.destinationCidrBlock === '0.0.0.0/0');
    const before = mutating();
    const cli = run(runFailoverCli, ['--zone', 'b', '--to', a2, '--for', '2h', '--wait', '10']);
    await until('the request in the log', async () => (await store.history(5)).find((r) => r.action === OPERATOR_FAILOVER && r.detail?.['zone'] === 'b'), 5_000);
    await controller.cycle();
    expect((await cli).code).toBe(0);
    expect(rtbB()?.networkInterfaceId).toBe(eniA().networkInterfaceId); // a2 carries zone a's floating ENI: the route follows it
    expect(intentsFrom(await store.history(20), Date.now()).away.get('b')).toMatchObject({ from: b1, to: a2 });
    // b1 is healthy for long, yet no failback while the request lasts.
    expect((await controller.cycle()).plan?.actions).toEqual([]);
    const back = run(runFailbackCli, ['--zone', 'b', '--wait', '10']);
    await until('the failback request in the log', async () => (await store.history(5)).find((r) => r.action === 'operator-failback'), 5_000);
    await controller.cycle();
    const r = await back;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`zone b: back to ${b1} by route-replace`));
    expect(rtbB()?.networkInterfaceId).toBe(lab.store.primaryInterface(b1)!.networkInterfaceId);
    expect(mutating() - before).toBe(2);
    // Zone b's request ended (zone a's lasts its hour); the failback request is spent once the controller recorded the failback.
    const live = intentsFrom(await store.history(20), Date.now());
    expect([[...live.away.keys()], [...live.failbackNow.keys()]]).toEqual([['a'], []]);
  });
});
