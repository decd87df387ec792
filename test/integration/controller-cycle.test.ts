// The controller's cycle against the lab's EC2 API and a DynamoDB lease in dynalite:
// failover strategies, the call counts, idempotence, and fencing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLeadership, type Leadership } from '../../src/agent/leadership.js';
import { createClientThrottle, EC2_MUTATING_BUCKET } from '../../src/aws/throttle.js';
import { createExecutor } from '../../src/controller/executor.js';
import { createController } from '../../src/controller/loop.js';
import { DEFAULT_PLANNER_POLICY } from '../../src/domain/planner/index.js';
import type { NodeVerdict } from '../../src/domain/verdict/types.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const clock = { now: () => Date.now() };
const MUTATING = new Set(['DetachNetworkInterface', 'AttachNetworkInterface', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'CreateRoute']);

describe('controller cycle in the lab', () => {
  let dynamo: DynaliteServer;
  let lab: ApiLab;
  const leaders: Leadership[] = [];
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await new DynamoDbLeaseStore({ client: dynamo.client(), tableName: 'natkeeper-ctl', clock }).ensureTable();
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  afterEach(async () => {
    await Promise.all(leaders.splice(0).map((l) => l.stop()));
    await lab?.close();
  });

  async function setup(extraTables = 0) {
    lab = await startApiLab({
      topology: {
        zones: [
          { name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: extraTables, floatingEni: true },
          { name: 'b', publicSubnet: '10.0.1.0/24', privateSubnets: ['10.0.101.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: extraTables, floatingEni: false },
        ],
      },
    });
    const lease = `lease-${++n}`;
    const store = (holder: string) => ({ holder, store: new DynamoDbLeaseStore({ client: dynamo.client(), tableName: 'natkeeper-ctl', leaseName: lease, clock }) });
    const make = (holder: string, verdicts: () => NodeVerdict[]) => {
      const { store: s } = store(holder);
      const leadership = createLeadership({ store: s, self: holder, ttlMs: 3_000, renewEveryMs: 1_000, clock, logger: silentLogger });
      leaders.push(leadership);
      const calls: string[] = [];
      const executor = createExecutor({
        ec2: lab.ec2,
        fence: leadership,
        decisionLog: s,
        holder,
        throttle: createClientThrottle({ ...EC2_MUTATING_BUCKET, clock }),
        clock,
        logger: silentLogger,
        pollMs: 20,
        onCall: (c) => calls.push(c),
      });
      const controller = createController({ ec2: lab.ec2, fence: leadership, decisionLog: s, executor, observe: { vpcId: lab.manifest.vpcId }, policy: DEFAULT_PLANNER_POLICY, verdicts, clock, logger: silentLogger });
      return { leadership, controller, calls, store: s };
    };
    return { make, zones: lab.manifest.zones };
  }

  /** Every NAT healthy for 10 min, except the ones named. */
  const healthyBut =
    (...except: string[]) =>
    (): NodeVerdict[] =>
      lab.manifest.zones.flatMap((z) => z.natInstanceIds).filter((id) => !except.includes(id)).map((id) => ({ node: id, state: 'healthy', since: Date.now() - 600_000, code: 'recovered', reason: 'test' }));
  const mutatingSeen = () => lab.api.requestLog.entries().filter((e) => MUTATING.has(e.action ?? ''));

  it('a stopped active NAT with a standby and 200 tables: eni-move in 2 mutating calls; a second cycle makes none', async () => {
    const { make, zones } = await setup(199);
    const [a1, a2] = zones[0]!.natInstanceIds as [string, string];
    const c = make('ctl-1', healthyBut(a1));
    c.leadership.start();
    await until('leader', () => c.leadership.isLeader(), 5_000);
    lab.store.stopInstance(a1);
    await until('a1 stopped', () => lab.store.instances.get(a1)?.state === 'stopped', 5_000);
    lab.api.requestLog.clear();
    const r = await c.controller.cycle();
    expect(r.plan?.decisions.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'failover', strategy: 'eni-move', via: a2 });
    expect(r.execution?.zones.find((z) => z.zone === 'a')).toMatchObject({ verified: true });
    expect(mutatingSeen().map((e) => e.action)).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface']);
    expect(lab.store.networkInterfaces.get(zones[0]!.floatingEniId!)?.attachment?.instanceId).toBe(a2);
    lab.api.requestLog.clear();
    const again = await c.controller.cycle();
    expect(again.plan?.actions).toEqual([]);
    expect(mutatingSeen()).toEqual([]);
  });

  it('zone b’s only NAT unhealthy (EC2 running): its 200 tables move cross-zone within the throttle, none left behind', async () => {
    const { make, zones } = await setup(199);
    const b1 = zones[1]!.natInstanceIds[0]!;
    const verdicts = (): NodeVerdict[] => [{ node: b1, state: 'unhealthy', since: Date.now() - 5_000, code: 'probes-failing', reason: 'test' }, ...zones[0]!.natInstanceIds.map((id): NodeVerdict => ({ node: id, state: 'healthy', since: Date.now() - 600_000, code: 'recovered', reason: 'test' }))];
    const c = make('ctl-2', verdicts);
    c.leadership.start();
    await until('leader', () => c.leadership.isLeader(), 5_000);
    lab.api.requestLog.clear();
    const started = Date.now();
    const r = await c.controller.cycle();
    const took = Date.now() - started;
    expect(r.plan?.decisions.find((d) => d.zone === 'b')).toMatchObject({ outcome: 'failover', strategy: 'route-replace' });
    const replaces = mutatingSeen().filter((e) => e.action === 'ReplaceRoute');
    expect(new Set(replaces.map((e) => e.params['RouteTableId'])).size, JSON.stringify(replaces.map((e) => [e.params['RouteTableId'], e.status]).slice(0, 3))).toBe(200);
    // The client throttle paces the calls to the lab's bucket (50 burst, 5/s); the two clocks
    // may disagree by a few ms, so a rare refusal is retried, never more than a handful.
    const refused = lab.api.requestLog.entries().filter((e) => e.errorCode === 'RequestLimitExceeded').length;
    expect(refused).toBeLessThanOrEqual(5);
    expect(replaces).toHaveLength(200 + refused);
    expect(took).toBeGreaterThan(((200 - 50) / 5) * 1000 * 0.9);
    const left = [...lab.store.routeTables.values()].filter((t) => zones[1]!.privateRouteTableIds.includes(t.routeTableId) && t.routes.some((x) => x.destinationCidrBlock === '0.0.0.0/0' && x.instanceId === b1));
    expect(left).toEqual([]);
  }, 60_000);

  it('fencing: a leader whose token went stale makes zero mutating calls', async () => {
    const { make, zones } = await setup();
    const [a1] = zones[0]!.natInstanceIds as [string, string];
    const old = make('ctl-old', healthyBut(a1));
    old.leadership.start();
    await until('old leads', () => old.leadership.isLeader(), 5_000);
    // The old leader's view of its lease stays "valid" (frozen clock check), but a new
    // holder takes over in the store: its appends must fail and stop it before any call.
    await old.leadership.stop();
    const token = old.leadership.token()!;
    const fence = { isLeader: () => true, token: () => token };
    const executor = createExecutor({ ec2: lab.ec2, fence, decisionLog: old.store, holder: 'ctl-old', throttle: createClientThrottle({ ...EC2_MUTATING_BUCKET, clock }), clock, logger: silentLogger, pollMs: 20 });
    const neu = make('ctl-new', healthyBut(a1));
    await until('the old lease expires and the new one leads', async () => {
      neu.leadership.start();
      return neu.leadership.isLeader();
    }, 10_000);
    lab.store.stopInstance(a1);
    await until('a1 stopped', () => lab.store.instances.get(a1)?.state === 'stopped', 5_000);
    const stale = createController({ ec2: lab.ec2, fence, decisionLog: old.store, executor, observe: { vpcId: lab.manifest.vpcId }, policy: DEFAULT_PLANNER_POLICY, verdicts: healthyBut(a1), clock, logger: silentLogger });
    lab.api.requestLog.clear();
    const r = await stale.cycle();
    expect(r.execution?.fencedOut).toMatch(/stale/);
    expect(mutatingSeen()).toEqual([]);
    // The real leader acts.
    await neu.controller.cycle();
    expect(mutatingSeen().map((e) => e.action)).toEqual(['DetachNetworkInterface', 'AttachNetworkInterface']);
    expect((await neu.store.history(5))[0]).toMatchObject({ holder: 'ctl-new', action: 'failover', token: neu.leadership.token() });
  }, 30_000);
});
