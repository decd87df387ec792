// natkeeper's on-instance NAT setup inside a lab NAT namespace: with the lab's own
// bootstrap removed, the zone's app host has no egress; natkeeper's apply brings it
// back, verify is clean (also through the CLI with real IMDSv2 and MAC resolution),
// a second apply changes nothing, and reset takes egress away again.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-file.js';
import { validateConfig } from '../../src/dataplane/config.js';
import { apply, readSysctl, reset, setup, verify } from '../../src/dataplane/executor.js';
import { listLinks, resolveEgressInterfaces } from '../../src/dataplane/interfaces.js';
import { planDataplane, type DataplanePlan } from '../../src/dataplane/plan.js';
import type { Runner } from '../../src/dataplane/runner.js';
import { fileStateStore, type StateStore } from '../../src/dataplane/state.js';
import { checkEgress } from '../../lab/egress.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { teardownLab } from '../../lab/netns/dataplane.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { distFile } from '../support/dist.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkn${randomBytes(2).toString('hex')}-`;

describe.skipIf(skipE2e)(suiteName('natkeeper dataplane apply/verify/reset in a lab NAT namespace (root)'), () => {
  let lab: RunningLab;
  let runDir: string;
  let nat: string;
  let app: string;
  let eip: string;
  let runner: Runner;
  let state: StateStore;
  let stateFile: string;
  let plan: DataplanePlan;
  const topology = parseConfigText(
    topologySchema,
    'realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, eniAttachMs: 0, eniDetachMs: 0, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 0 }',
    'test topology',
  );
  const egress = async () => (await checkEgress(lab.dataPlane!, app, topology.internet.echoTargets[0]!, topology.internet.echoPort)).seen;
  const nftList = async () => (await runner(['nft', 'list', 'table', 'ip', 'natkeeper'])).stdout.replace(/packets \d+ bytes \d+/g, 'packets N bytes N');
  const tables = async () => (await runner(['nft', 'list', 'tables'])).stdout;

  beforeAll(async () => {
    distFile('lab/netns/echo-client.js');
    distFile('src/cli/main.js');
    runDir = mkdtempSync(join(tmpdir(), 'nk-natsetup-'));
    stateFile = join(runDir, 'dataplane-state.json');
    state = fileStateStore(stateFile);
    lab = await startLab({ topology, runDir, prefix: PREFIX, dataPlane: 'on' });
    const zone = lab.manifest.zones[0]!;
    const floating = lab.store.networkInterfaces.get(zone.floatingEniId!)!;
    nat = floating.attachment!.instanceId;
    app = zone.appInstanceIds[0]!;
    eip = lab.store.addresses.values().find((a) => a.networkInterfaceId === floating.networkInterfaceId)!.publicIp;
    runner = async (argv, opts = {}) => {
      const r = await lab.dataPlane!.exec(nat, argv, { timeoutMs: 10_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    };
  }, 120_000);

  afterAll(async () => {
    try {
      await lab?.close();
    } finally {
      await teardownLab(PREFIX);
      if (runDir) rmSync(runDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('without the lab bootstrap the app host has no egress', async () => {
    expect(await egress()).toBe(eip);
    expect((await runner(['nft', 'delete', 'table', 'ip', 'natkeeper_lab_bootstrap'])).code).toBe(0);
    expect((await runner(['sysctl', '-w', 'net.ipv4.ip_forward=0'])).code).toBe(0);
    expect(await egress()).toBeUndefined();
  });

  it('setup (interfaces resolved by MAC against the namespace links) brings egress back and self-tests through the app host', async () => {
    // What IMDS lists for the NAT: its attached ENIs' MACs by device number.
    const imdsList = async () =>
      lab.store.interfacesOf(nat).map((e) => ({ mac: e.macAddress, deviceNumber: e.attachment!.deviceIndex, vpcCidrs: [topology.vpcCidr] }));
    const resolved = await resolveEgressInterfaces(imdsList, () => listLinks(runner), { attempts: 3, delayMs: 50 });
    expect(resolved.map((r) => r.name)).toEqual(['eth0', 'eth1']);
    plan = planDataplane(validateConfig({ egressInterfaces: resolved.map((r) => r.name), excludeDestinations: [topology.vpcCidr] }));
    expect((await verify(plan, runner)).ok).toBe(false);
    const probe = async () => {
      const seen = await egress();
      return { ok: seen === eip, detail: `app host ${app} egress seen as ${seen ?? 'nothing'}` };
    };
    const r = await setup(plan, runner, { state, probe });
    expect(r.reason).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.apply.changed).toContain('nft table ip natkeeper');
    expect(r.apply.changed).toContain('sysctl net.ipv4.ip_forward');
    expect(r.selfTest?.checks.map((c) => [c.name, c.ok])).toEqual([
      ['forwarding', true],
      ['ruleset', true],
      ['probe', true],
    ]);
    expect(await egress()).toBe(eip);
    expect(await readSysctl(runner, 'net.netfilter.nf_conntrack_tcp_timeout_established')).toBe('350');
    expect(existsSync(stateFile)).toBe(true);
  });

  it('verify is clean, through the API and through the CLI inside the namespace (IMDSv2, MAC resolution)', async () => {
    expect(await verify(plan, runner)).toEqual({ ok: true, differences: [] });
    const cli = await runner([process.execPath, distFile('src/cli/main.js'), 'dataplane', 'verify', '--json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const doc = JSON.parse(cli.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.config.egressInterfaces).toEqual(['eth0', 'eth1']);
    expect(doc.config.excludeDestinations).toEqual([topology.vpcCidr]);
    // apply through the CLI on the already-set-up node: nothing to change; its TCP probe
    // from the node to an echo target passes.
    const target = `${topology.internet.echoTargets[0]!}:${topology.internet.echoPort}`;
    const applied = await runner([process.execPath, distFile('src/cli/main.js'), 'dataplane', 'apply', '--json', '--state-file', join(runDir, 'cli-state.json'), '--probe-target', target]);
    expect(applied.code).toBe(0);
    const a = JSON.parse(applied.stdout);
    expect(a.apply.changed).toEqual([]);
    expect(a.selfTest.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ['forwarding', true],
      ['ruleset', true],
      ['probe', true],
    ]);
  });

  it('a second apply changes nothing: same ruleset, same table', async () => {
    const before = await nftList();
    const handle = (await runner(['nft', '-j', 'list', 'table', 'ip', 'natkeeper'])).stdout.match(/"handle": (\d+)/)?.[1];
    const r = await apply(plan, runner, { state });
    expect(r).toEqual({ ok: true, changed: [], differences: [] });
    expect(await nftList()).toBe(before);
    expect((await runner(['nft', '-j', 'list', 'table', 'ip', 'natkeeper'])).stdout.match(/"handle": (\d+)/)?.[1]).toBe(handle);
    expect(await egress()).toBe(eip);
  });

  it('verify names a difference when a rule is tampered with', async () => {
    // Forwarding off by hand: verify reports it by name; apply puts it back.
    await runner(['sysctl', '-w', 'net.ipv4.ip_forward=0']);
    expect((await verify(plan, runner)).differences).toEqual([{ name: 'sysctl net.ipv4.ip_forward', expected: '1', actual: '0' }]);
    const r = await apply(plan, runner, { state });
    expect(r.changed).toEqual(['sysctl net.ipv4.ip_forward']);
    expect(await egress()).toBe(eip);
  });

  it('reset removes only natkeeper table, restores the saved sysctls, and egress stops again', async () => {
    // Another owner's table in the same namespace must survive natkeeper's reset.
    const other = await runner(['nft', '-f', '-'], { input: 'table inet someone_else {\n  chain c {\n    type filter hook input priority 0; policy accept;\n  }\n}\n' });
    expect(other.stderr).toBe('');
    const r = await reset(runner, { state });
    expect(r.reason).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.removedTable).toBe(true);
    expect(r.restored).toContainEqual({ key: 'net.ipv4.ip_forward', value: '0' });
    const left = await tables();
    expect(left).not.toMatch(/table ip natkeeper\b/);
    expect(left).toContain('table inet someone_else');
    expect(await readSysctl(runner, 'net.ipv4.ip_forward')).toBe('0');
    expect(existsSync(stateFile)).toBe(false);
    expect(await egress()).toBeUndefined();
    // A second reset has nothing to remove and says so.
    const again = await reset(runner, { state });
    expect(again.ok).toBe(true);
    expect(again.removedTable).toBe(false);
    expect(again.notes.join(' ')).toMatch(/no saved state/);
    await runner(['nft', 'delete', 'table', 'inet', 'someone_else']);
  });
});
