// Smoke test with the AWS CLI v2 (/usr/bin/aws; the `aws` on PATH may be v1):
// the lab's EC2 API must be usable by an operator with --endpoint-url.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiLab, type ApiLab } from '../support/api-lab.js';

const AWS_CLI = '/usr/bin/aws';
const hasCli = existsSync(AWS_CLI);
// As root `make test` installs the CLI (scripts/install-deps.sh): there, a missing CLI fails the suite rather than skipping it.
const skipCli = !hasCli && process.getuid?.() !== 0;
if (skipCli) console.warn(`api-cli: skipped, the AWS CLI v2 is not installed at ${AWS_CLI}`);

let lab: ApiLab;

/** Runs the CLI without blocking the event loop (the server under test runs in this process). */
function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'AKIDLABTEST',
    AWS_SECRET_ACCESS_KEY: 'lab-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
  };
  return new Promise((resolve) => {
    execFile(AWS_CLI, ['--endpoint-url', lab.endpoint, '--output', 'json', ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await aws(...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe.skipIf(skipCli)('AWS CLI v2 against the lab', () => {
  beforeAll(async () => {
    if (!hasCli) throw new Error(`the AWS CLI v2 is not installed at ${AWS_CLI} (scripts/install-deps.sh installs it as root)`);
    lab = await startApiLab({ topology: { zones: [{ name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, extraPrivateRouteTables: 12 }] } });
  });
  afterAll(() => lab?.close());

  it('is the v2 CLI', async () => {
    const r = await aws('--version');
    expect(r.stdout + r.stderr).toMatch(/^aws-cli\/2\./);
  });

  it('describe-route-tables, filtered, and paginated by the CLI itself', async () => {
    const all = await json<{ RouteTables: { RouteTableId: string; Routes: { State: string }[] }[] }>(
      'ec2', 'describe-route-tables', '--filters', `Name=vpc-id,Values=${lab.manifest.vpcId}`,
    );
    expect(all.RouteTables).toHaveLength(1 + 1 + 1 + 12);
    expect(all.RouteTables.flatMap((t) => t.Routes.map((r) => r.State))).not.toContain('blackhole');
    const paged = await json<{ RouteTables: { RouteTableId: string }[] }>('ec2', 'describe-route-tables', '--page-size', '5');
    expect(paged.RouteTables.map((t) => t.RouteTableId)).toEqual(all.RouteTables.map((t) => t.RouteTableId));
  });

  it('replace-route, then the route shows the new target', async () => {
    const zone = lab.manifest.zones[0]!;
    const rtb = zone.privateRouteTableIds[0]!;
    const standby = zone.natInstanceIds[1]!;
    const r = await aws('ec2', 'replace-route', '--route-table-id', rtb, '--destination-cidr-block', '0.0.0.0/0', '--instance-id', standby);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = await json<{ RouteTables: { Routes: { DestinationCidrBlock: string; InstanceId?: string; State: string }[] }[] }>(
      'ec2', 'describe-route-tables', '--route-table-ids', rtb,
    );
    expect(out.RouteTables[0]!.Routes.find((x) => x.DestinationCidrBlock === '0.0.0.0/0')).toMatchObject({ InstanceId: standby, State: 'active' });
  });

  it('describe-instances and describe-network-interfaces with filters', async () => {
    const zone = lab.manifest.zones[0]!;
    const inst = await json<{ Reservations: { Instances: { InstanceId: string; State: { Name: string } }[] }[] }>(
      'ec2', 'describe-instances', '--filters', 'Name=tag:natkeeper:role,Values=nat',
    );
    expect(inst.Reservations.flatMap((r) => r.Instances.map((i) => i.InstanceId)).sort()).toEqual([...zone.natInstanceIds].sort());
    const enis = await json<{ NetworkInterfaces: { NetworkInterfaceId: string; Attachment: { Status: string } }[] }>(
      'ec2', 'describe-network-interfaces', '--network-interface-ids', zone.floatingEniId!,
    );
    expect(enis.NetworkInterfaces[0]!.Attachment.Status).toBe('attached');
  });

  it('create-tags and describe-tags', async () => {
    const rtb = lab.manifest.zones[0]!.privateRouteTableIds[3]!;
    const r = await aws('ec2', 'create-tags', '--resources', rtb, '--tags', 'Key=owner,Value=cli');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const tags = await json<{ Tags: { ResourceId: string; Value: string }[] }>('ec2', 'describe-tags', '--filters', 'Name=key,Values=owner');
    expect(tags.Tags).toEqual([expect.objectContaining({ ResourceId: rtb, Value: 'cli' })]);
  });

  it("prints AWS's error code for an unknown route table and exits non-zero", async () => {
    const r = await aws('ec2', 'describe-route-tables', '--route-table-ids', 'rtb-0123456789abcdef0');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('(InvalidRouteTableID.NotFound)');
    expect(r.stderr).toContain("The routeTable ID 'rtb-0123456789abcdef0' does not exist");
  });
});
