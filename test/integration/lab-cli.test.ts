// `natkeeper lab up|status|chaos|down` as an operator runs them, APIs only (no namespaces),
// so it runs without root. The data-plane side is covered in test/e2e.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../lab/run-dir.js';
import { distFile } from '../support/dist.js';

const runDir = mkdtempSync(join(tmpdir(), 'nk-labcli-'));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [distFile('src/cli/main.js'), 'lab', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const withDir = (...args: string[]) => cli(...args, '--run-dir', runDir);

interface UpJson {
  pid: number;
  endpoints: { ec2: string; dynamodb: string; events: string };
  manifest: { vpcId: string; zones: { natInstanceIds: string[] }[] };
}

describe('natkeeper lab (APIs only)', () => {
  let first: UpJson;

  beforeAll(() => {
    const r = withDir('up', '--no-data-plane', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout) as UpJson;
  });

  afterAll(() => {
    withDir('down');
    rmSync(runDir, { recursive: true, force: true });
  });

  it('serves the EC2 API the SDK talks to', async () => {
    const ec2 = new EC2Client({ endpoint: first.endpoints.ec2, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const out = await ec2.send(new DescribeVpcsCommand({}));
    expect(out.Vpcs?.map((v) => v.VpcId)).toEqual([first.manifest.vpcId]);
    ec2.destroy();
  });

  it('serves DynamoDB (dynalite) for the lease store', async () => {
    const ddb = new DynamoDBClient({ endpoint: first.endpoints.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ddb.send(
      new CreateTableCommand({
        TableName: 'probe',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toContain('probe');
    ddb.destroy();
  });

  it('up again is idempotent: the same lab', () => {
    const r = withDir('up', '--no-data-plane', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as UpJson).pid).toBe(first.pid);
  });

  it('status --json lists endpoints and every resource ID', () => {
    const r = withDir('status', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as UpJson & { instances: unknown[]; routeTables: unknown[] };
    expect(Object.keys(s.endpoints)).toEqual(expect.arrayContaining(['ec2', 'autoscaling', 'dynamodb', 'events']));
    expect(s.instances).toHaveLength(7); // 4 NATs + 3 app hosts
    expect(s.routeTables.length).toBeGreaterThanOrEqual(7);
  });

  it('a chaos request with a bad argument is refused naming the field, and changes nothing', () => {
    const r = withDir('chaos', 'loss', 'nat-a1', 'lots');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pct/);
    const bad = withDir('chaos', 'explode', 'nat-a1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown chaos verb "explode"/);
    const extra = withDir('chaos', 'kill', 'nat-a1', 'nat-a2');
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/at most 1 argument/);
  });

  it('a control-plane chaos verb works without the data plane; a data-plane one says why not', () => {
    expect(withDir('chaos', 'api-errors', '0').code).toBe(0);
    const r = withDir('chaos', 'hang', 'nat-a1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data plane/);
  });

  it('a bad topology file exits 2 naming the field, before starting anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-labcli-bad-'));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, 'zones:\n  - name: a\n    publicSubnet: 10.0.0.0/24\n    privateSubnets: [10.0.100.0/24]\n    natInstances: many\n');
    const r = cli('up', '--no-data-plane', '--topology', file, '--run-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('zones[0].natInstances');
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a bad --prefix exits 2 naming the option, before starting anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-labcli-prefix-'));
    const r = cli('up', '--no-data-plane', '--prefix', 'BAD', '--run-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--prefix "BAD"');
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stale state file whose pid now belongs to another process: down does not signal that process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-labcli-stale-'));
    // This test process stands in for the unrelated process that reused the lab's pid.
    const state = { pid: process.pid, prefix: 'nkstale-', startedAt: new Date().toISOString(), dataPlane: false, endpoints: {} };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    expect(cli('status', '--run-dir', dir).code).toBe(2);
    const r = cli('down', '--run-dir', dir);
    expect(r.code).toBe(0);
    expect(isAlive(process.pid)).toBe(true);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  // Namespaces need root (as in CI); without it there is nothing a crash could have left.
  it.runIf(process.getuid?.() === 0)('down with no lab recorded still clears namespaces a crashed lab left under the prefix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-labcli-leak-'));
    const ns = `nkleak${process.pid.toString(16).slice(-4)}-x`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    try {
      const r = cli('down', '--run-dir', dir, '--prefix', ns.slice(0, -1));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(ns);
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(ns);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('down stops it, down again is fine, and up after a crash starts cleanly', () => {
    expect(withDir('down').code).toBe(0);
    expect(isAlive(first.pid)).toBe(false);
    const again = withDir('down');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/not running/);
    const up = withDir('up', '--no-data-plane', '--json');
    const pid = (JSON.parse(up.stdout) as UpJson).pid;
    process.kill(pid, 'SIGKILL'); // a crash: the state file stays behind
    const restarted = withDir('up', '--no-data-plane', '--json');
    expect(restarted.code).toBe(0);
    expect((JSON.parse(restarted.stdout) as UpJson).pid).not.toBe(pid);
  });
});
