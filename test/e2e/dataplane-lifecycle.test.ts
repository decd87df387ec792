// Instance lifecycle in the data plane: launch, stop (links down, processes
// frozen), start (thawed, forwarders restarted), terminate (namespace gone, ENIs
// parked or deleted), the IMDS-style forwarder, and crash recovery by prefix.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataPlaneState, teardownFromState, teardownLab, type Forwarder } from '../../lab/netns/dataplane.js';
import { listNetns, processState, run } from '../../lab/netns/exec.js';
import { distScript } from '../../lab/netns/paths.js';
import { publicIpOf, skipE2e, startDataPlaneLab, suiteName, waitFor, type DataPlaneLab } from './dataplane-lab.js';

describe.skipIf(skipE2e)(suiteName('data plane: instance lifecycle'), () => {
  let lab: DataPlaneLab;
  let dir: string;
  let imds: Server;
  const zoneA = () => lab.manifest.zones[0]!;
  const app = () => zoneA().appInstanceIds[0]!;
  const floatingEip = () => publicIpOf(lab.store, zoneA().floatingEniId!);
  const socketPath = () => join(dir, 'imds.sock');
  const httpGet = (instanceId: string, timeoutMs = 2000) =>
    lab.sh(instanceId, [
      process.execPath,
      '-e',
      `fetch('http://169.254.169.254/latest/meta-data/instance-id',{signal:AbortSignal.timeout(${timeoutMs})}).then(r=>r.text()).then(t=>console.log(t),e=>{console.error(String(e));process.exit(1)})`,
    ]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nk-lifecycle-'));
    imds = createServer((_req, res) => res.end('i-from-the-socket'));
    await new Promise<void>((r) => imds.listen(socketPath(), r));
    lab = await startDataPlaneLab('lc');
  });
  afterAll(async () => {
    try {
      await lab?.close();
    } finally {
      imds?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let forwarder: Forwarder;

  it('serves a unix socket inside the instance at 169.254.169.254:80', async () => {
    forwarder = await lab.dp.startForwarder(app(), { ip: '169.254.169.254', port: 80 }, socketPath());
    const r = await httpGet(app());
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('i-from-the-socket');
    // Reachable from that instance only: another instance has no such address.
    expect((await httpGet(zoneA().natInstanceIds[0]!, 300)).code).not.toBe(0);
  });

  it('stop: links down and every process frozen; start: thawed, forwarder restarted, egress back', async () => {
    const sleeper = lab.dp.spawnIn(app(), ['sleep', '30']);
    try {
      await waitFor(async () => (await lab.dp.pidsOf(app())).includes(sleeper.pid!), 2000, 'sleep to start');
      const forwarderPid = forwarder.pid!;
      lab.store.stopInstance(app());
      await lab.dp.settled();
      await waitFor(async () => (await processState(sleeper.pid!)) === 'T', 1000, 'sleep to be stopped');
      await waitFor(async () => (await processState(forwarderPid)) === 'T', 1000, 'the forwarder to be stopped');
      const eth0 = JSON.parse(await lab.ipIn(lab.dp.nsOf(app())!, '-j', 'link', 'show', 'dev', 'eth0'))[0];
      expect(eth0.flags).not.toContain('UP');
      await waitFor(() => lab.store.instance(app()).state === 'stopped', 3000, 'stopped');

      lab.store.startInstance(app());
      await lab.dp.settled();
      await waitFor(async () => (await processState(sleeper.pid!)) !== 'T', 1000, 'sleep to be continued');
      await waitFor(() => lab.store.instance(app()).state === 'running', 3000, 'running');
      await lab.dp.settled();
      expect(await lab.seen(app())).toBe(floatingEip());
      // A fresh forwarder, not the one frozen at stop.
      expect(forwarder.pid).not.toBe(forwarderPid);
      const r = await httpGet(app());
      expect(r.stdout.trim()).toBe('i-from-the-socket');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a launched instance gets a namespace, its ENI, and egress; terminated, it is removed', async () => {
    const subnetId = zoneA().privateSubnetIds[0]!;
    const inst = lab.store.launchInstance({ subnetId, role: 'app' });
    await lab.dp.settled();
    const ns = lab.dp.nsOf(inst.instanceId)!;
    expect(await listNetns()).toContain(ns);
    await waitFor(() => lab.store.instance(inst.instanceId).state === 'running', 3000, 'running');
    await lab.dp.settled();
    expect(await lab.seen(inst.instanceId)).toBe(floatingEip());
    const eniId = lab.store.primaryInterface(inst.instanceId)!.networkInterfaceId;
    const port = lab.dp.portsOf(inst.instanceId)[0]!;

    lab.store.terminateInstance(inst.instanceId);
    await waitFor(() => lab.store.instances.get(inst.instanceId)?.state === 'terminated', 3000, 'terminated');
    await lab.dp.settled();
    expect(await listNetns()).not.toContain(ns);
    expect(lab.dp.nsOf(inst.instanceId)).toBeUndefined();
    expect(lab.store.networkInterfaces.get(eniId)).toBeUndefined();
    expect(await lab.ipIn(lab.dp.routerNs, 'link', 'show')).not.toContain(port);
  });

  it('a terminated NAT leaves its floating ENI in the park, down, and the route blackholed', async () => {
    const [a1] = zoneA().natInstanceIds;
    const floating = zoneA().floatingEniId!;
    const mac = lab.store.networkInterface(floating).macAddress;
    lab.store.terminateInstance(a1!);
    await waitFor(() => lab.store.instance(a1!).state === 'terminated', 3000, 'terminated');
    await lab.dp.settled();
    const parked = JSON.parse(await lab.ipIn(lab.dp.parkNs, '-j', 'link', 'show')) as { address: string; flags: string[] }[];
    const link = parked.find((l) => l.address === mac);
    expect(link).toBeDefined();
    expect(link!.flags).not.toContain('UP');
    const table = lab.dp.kernelTableOf(zoneA().privateRouteTableIds[0]!);
    expect(await lab.ipIn(lab.dp.routerNs, 'route', 'show', 'table', String(table))).toMatch(/^blackhole default/m);
    expect(await lab.seen(app(), { timeoutMs: 300 })).toBeUndefined();
    // Re-attached to the surviving NAT, egress returns with the same EIP.
    lab.store.attachNetworkInterface(floating, zoneA().natInstanceIds[1]!, 1);
    await waitFor(() => lab.store.networkInterface(floating).attachment?.status === 'attached', 3000, 'attached');
    await lab.dp.settled();
    expect(await lab.seen(app())).toBe(floatingEip());
  });

  it('the echo client refuses to run outside a named namespace (it would reach the real network)', async () => {
    // 127.0.0.1: even if the guard failed, nothing would leave this machine.
    const r = await run([process.execPath, distScript('echo-client'), '--target', '127.0.0.1', '--timeout', '100']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to run outside a named network namespace/);
  });

  it('teardownLab removes every namespace of a prefix and kills its processes (crash recovery)', async () => {
    const prefix = `nkcr${Math.floor(Math.random() * 0xffff).toString(16)}-`;
    const stateDir = join(dir, 'run');
    try {
      // A "crashed" lab: namespaces and a process in one, and a state file naming the prefix.
      for (const n of ['router', 'park', 'abc123']) expect((await run(['ip', 'netns', 'add', `${prefix}${n}`])).code).toBe(0);
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, 'dataplane.json'), JSON.stringify({ prefix, pid: 1, startedAt: '', namespaces: [] }));
      const orphan = spawn('ip', ['netns', 'exec', `${prefix}abc123`, 'sleep', '60'], { stdio: 'ignore' });
      const exited = new Promise((r) => orphan.on('exit', r));
      expect(readDataPlaneState(stateDir)?.prefix).toBe(prefix);
      expect(await teardownFromState(stateDir)).toHaveLength(3);
      await exited;
      expect((await listNetns()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect(readDataPlaneState(stateDir)).toBeUndefined();
      // The lab under test is untouched.
      expect(await listNetns()).toContain(lab.dp.routerNs);
    } finally {
      await teardownLab(prefix);
    }
  });
});
