// `natkeeper controller` off the NAT nodes, against the lab's EC2 API and a DynamoDB lease
// in dynalite. The agents' /status is stood in for by a loopback HTTP server serving the
// verdicts the test sets (the agents themselves are covered by the e2e tests).
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runControllerCli } from '../../src/cli/controller.js';
import type { NodeVerdict } from '../../src/domain/verdict/types.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const TABLE = 'natkeeper-standalone';

describe('natkeeper controller (standalone)', () => {
  let lab: ApiLab;
  let dynamo: DynaliteServer;
  let store: DynamoDbLeaseStore;
  let agent: Server;
  let agentUrl: string;
  let dir: string;
  let config: string;
  let verdicts: NodeVerdict[] = [];
  const errs: string[] = [];

  const run = (argv: string[], signals = new EventEmitter()) =>
    runControllerCli(argv, {
      err: (s) => errs.push(s),
      logWrite: () => undefined,
      signals: signals as unknown as Pick<NodeJS.Process, 'once' | 'off'>,
      context: { ec2: lab.ec2, leaseStore: store, imds: { get: async () => undefined } },
    });

  beforeAll(async () => {
    lab = await startApiLab({
      topology: {
        zones: [{ name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true }],
      },
    });
    dynamo = await startDynalite();
    store = new DynamoDbLeaseStore({ client: dynamo.client(), tableName: TABLE, clock: { now: () => Date.now() } });
    await store.ensureTable();
    agent = createServer((req, res) => {
      res.writeHead(req.url === '/status' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ verdicts }));
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
    agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'nk-standalone-'));
    config = join(dir, 'natkeeper.yaml');
    writeFileSync(config, `region: us-east-1\ncontroller: { vpcId: ${lab.manifest.vpcId}, resyncMs: 1000 }\nlease: { table: ${TABLE}, ttlMs: 3000, renewEveryMs: 1000 }\n`);
  });
  afterAll(async () => {
    await new Promise((r) => agent?.close(r));
    await lab?.close();
    await dynamo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [['--agent', 'http://127.0.0.1:1'], /required option '--config <file>'/],
    [['--config', '/nonexistent.yaml'], /\/nonexistent\.yaml/],
    [['--config', 'CONFIG', '--agent', 'ftp://x'], /--agent: expected an http\(s\) URL/],
    [['--config', 'CONFIG', '--id', 'two words'], /--id: expected 1–64 letters/],
  ])('bad flags exit 2 naming the problem: %j', async (argv, message) => {
    errs.length = 0;
    expect(await run(argv.map((a) => (a === 'CONFIG' ? config : a)))).toBe(2);
    expect(errs.join('\n')).toMatch(message);
    expect(await store.current()).toBeNull();
  });

  it('takes the lease, fails over a NAT its agent calls unhealthy (eni-move), and gives the lease up on SIGTERM', async () => {
    const [a1, a2] = lab.manifest.zones[0]!.natInstanceIds as [string, string];
    const eni = () => lab.store.networkInterfaces.get(lab.manifest.zones[0]!.floatingEniId!)!;
    const healthy = (id: string): NodeVerdict => ({ node: id, state: 'healthy', since: Date.now() - 600_000, code: 'recovered', reason: 'test' });
    verdicts = [healthy(a1), healthy(a2)];
    const signals = new EventEmitter();
    const done = run(['--config', config, '--agent', 'http://127.0.0.1:1', '--agent', agentUrl, '--id', 'controller:test'], signals);
    await until('the standalone controller holds the lease', async () => ((await store.current())?.holder === 'controller:test' ? true : undefined), 10_000);
    expect(eni().attachment?.instanceId).toBe(a1);
    verdicts = [{ ...healthy(a1), state: 'unhealthy', code: 'probes-failing' }, healthy(a2)];
    await until('eni-a on the standby', () => eni().attachment?.instanceId === a2 && eni().attachment?.status === 'attached', 10_000);
    const log = await store.history(5);
    expect(log[0]).toMatchObject({ holder: 'controller:test', action: 'failover', detail: { zone: 'a', strategy: 'eni-move', via: a2 } });
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await done).toBe(0);
    expect(await store.current()).toBeNull();
  }, 30_000);
});
