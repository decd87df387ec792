// Data-plane faults (lab/chaos/dataplane-faults.ts): each takes effect and reverses.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultUnsupportedError } from '../../lab/chaos/dataplane-faults.js';
import { processState } from '../../lab/netns/exec.js';
import { distScript } from '../../lab/netns/paths.js';
import type { StreamSummary } from '../../lab/netns/probe-stats.js';
import { publicIpOf, skipE2e, startDataPlaneLab, suiteName, waitFor, type DataPlaneLab } from './dataplane-lab.js';

describe.skipIf(skipE2e)(suiteName('data plane: faults'), () => {
  let lab: DataPlaneLab;
  const zoneA = () => lab.manifest.zones[0]!;
  const app = () => zoneA().appInstanceIds[0]!;
  const [a1, a2] = [() => zoneA().natInstanceIds[0]!, () => zoneA().natInstanceIds[1]!];
  const ipOf = (id: string) => lab.store.primaryInterface(id)!.privateIpAddress;
  const floatingEip = () => publicIpOf(lab.store, zoneA().floatingEniId!);
  const pingOk = async (from: string, to: string) => (await lab.sh(from, ['ping', '-c', '1', '-W', '0.5', '-q', to])).code === 0;
  const stream = async (from: string, count: number, intervalMs: number): Promise<StreamSummary> => {
    const r = await lab.sh(from, [
      process.execPath,
      distScript('echo-client'),
      '--target',
      lab.topology.internet.echoTargets[0]!,
      '--stream',
      '--interval',
      String(intervalMs),
      '--duration',
      String(count * intervalMs),
      '--loss-after',
      '300',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as StreamSummary;
  };

  beforeAll(async () => {
    lab = await startDataPlaneLab('ft');
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('kill: links down and every process killed at once; revive brings links back', async () => {
    const sleeper = lab.dp.spawnIn(app(), ['sleep', '60']);
    const exited = new Promise<string | null>((r) => sleeper.on('exit', (_c, s) => r(s)));
    await waitFor(async () => (await lab.dp.pidsOf(app())).includes(sleeper.pid!), 2000, 'sleep to start');
    await lab.dp.faults.kill(app());
    expect(await exited).toBe('SIGKILL');
    expect(await lab.dp.pidsOf(app())).toEqual([]);
    const eth0 = JSON.parse(await lab.ipIn(lab.dp.nsOf(app())!, '-j', 'link', 'show', 'dev', 'eth0'))[0];
    expect(eth0.flags).not.toContain('UP');
    expect(await lab.seen(app(), { timeoutMs: 300 })).toBeUndefined();
    await lab.dp.faults.revive(app());
    expect(await lab.seen(app())).toBe(floatingEip());
  });

  it('kill is released by the next start of the instance', async () => {
    await lab.dp.faults.kill(app());
    lab.store.stopInstance(app());
    await waitFor(() => lab.store.instance(app()).state === 'stopped', 3000, 'app stopped');
    lab.store.startInstance(app());
    await waitFor(() => lab.store.instance(app()).state === 'running', 3000, 'app running');
    await lab.dp.settled();
    expect(await lab.seen(app())).toBe(floatingEip());
  });

  it('hang: the NAT stays up but forwards nothing; unhang restores egress', async () => {
    await lab.dp.faults.hang(a1());
    expect(await lab.seen(app(), { timeoutMs: 300 })).toBeUndefined();
    // Still up: it answers, and its own traffic still leaves.
    expect(await pingOk(app(), ipOf(a1()))).toBe(true);
    expect(await lab.seen(a1())).toBe(floatingEip());
    await lab.dp.faults.unhang(a1());
    expect(await lab.seen(app())).toBe(floatingEip());
  });

  it('freeze / thaw: SIGSTOP and SIGCONT by pattern and by pid', async () => {
    const sleeper = lab.dp.spawnIn(app(), ['sleep', '30']);
    try {
      await waitFor(async () => (await lab.dp.pidsOf(app())).includes(sleeper.pid!), 2000, 'sleep to start');
      expect(await lab.dp.faults.freeze(app(), 'sleep 30')).toContain(String(sleeper.pid));
      expect(await processState(sleeper.pid!)).toBe('T');
      await lab.dp.faults.thaw(app(), 'sleep');
      expect(await processState(sleeper.pid!)).not.toBe('T');
      await lab.dp.faults.freeze(app(), sleeper.pid!);
      expect(await processState(sleeper.pid!)).toBe('T');
      await lab.dp.faults.thaw(app());
      expect(await processState(sleeper.pid!)).not.toBe('T');
      await expect(lab.dp.faults.freeze(app(), 'no-such-process')).rejects.toThrow(/no process/);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('partition / heal: same-subnet and cross-subnet traffic between two instances', async () => {
    expect(await pingOk(a1(), ipOf(a2()))).toBe(true);
    await lab.dp.faults.partition(a1(), a2());
    expect(await pingOk(a1(), ipOf(a2()))).toBe(false);
    expect(await pingOk(a2(), ipOf(a1()))).toBe(false);
    expect(await pingOk(app(), ipOf(a2()))).toBe(true);
    await lab.dp.faults.heal(a1(), a2());
    expect(await pingOk(a1(), ipOf(a2()))).toBe(true);

    await lab.dp.faults.partition(app(), a2());
    expect(await pingOk(app(), ipOf(a2()))).toBe(false);
    await lab.dp.faults.heal(a2(), app());
    expect(await pingOk(app(), ipOf(a2()))).toBe(true);
  });

  it('loss: random drop on the instance links, both directions; 0 removes it', async () => {
    await lab.dp.faults.loss(app(), 50);
    const lossy = await stream(app(), 100, 5);
    // 50% each way: about 25 of 100 answered.
    expect(lossy.sent).toBe(100);
    expect(lossy.received).toBeGreaterThan(3);
    expect(lossy.received).toBeLessThan(70);
    await lab.dp.faults.loss(app(), 0);
    const clean = await stream(app(), 50, 5);
    expect(clean.lost).toBe(0);
    expect(clean.seen).toEqual({ [floatingEip()]: 50 });
  });

  it('targetDown / targetUp: an echo target stops answering and comes back', async () => {
    const [t0, t1] = lab.topology.internet.echoTargets;
    await lab.dp.faults.targetDown(t0!);
    expect(await lab.seen(app(), { target: t0, timeoutMs: 300 })).toBeUndefined();
    expect(await lab.seen(app(), { target: t1 })).toBe(floatingEip());
    await lab.dp.faults.targetUp(t0!);
    expect(await lab.seen(app(), { target: t0 })).toBe(floatingEip());
    await expect(lab.dp.faults.targetDown('192.0.2.1')).rejects.toThrow(/not an echo target/);
  });

  it('delay: applied with netem, or refused with a clear reason when the kernel has none', async () => {
    const netem = await lab.dp.faults.netemAvailable();
    if (!netem.ok) {
      await expect(lab.dp.faults.delay(app(), 50)).rejects.toBeInstanceOf(FaultUnsupportedError);
      await expect(lab.dp.faults.delay(app(), 50)).rejects.toThrow(/netem/);
      expect(lab.dp.faults.active().delay).toEqual([]);
      return;
    }
    await lab.dp.faults.delay(app(), 50);
    const slow = await stream(app(), 10, 20);
    expect(slow.rttMs!.p50).toBeGreaterThanOrEqual(45);
    await lab.dp.faults.delay(app(), 0);
    const fast = await stream(app(), 10, 20);
    expect(fast.rttMs!.p50).toBeLessThan(45);
  });

  it('faults follow an ENI move: loss keyed by the NAT applies to the floating ENI on its new carrier', async () => {
    await lab.dp.faults.loss(a2(), 100);
    expect(lab.dp.portsOf(a2())).toHaveLength(1);
    const eni = zoneA().floatingEniId!;
    lab.store.detachNetworkInterface(lab.store.networkInterface(eni).attachment!.attachmentId);
    await waitFor(() => lab.store.networkInterface(eni).status === 'available', 3000, 'detached');
    lab.store.attachNetworkInterface(eni, a2(), 1);
    await waitFor(() => lab.store.networkInterface(eni).attachment?.status === 'attached', 3000, 'attached to a2');
    await lab.dp.settled();
    expect(lab.dp.portsOf(a2())).toHaveLength(2);
    expect(await lab.seen(app(), { timeoutMs: 300 })).toBeUndefined();
    await lab.dp.faults.loss(a2(), 0);
    expect(await lab.seen(app())).toBe(floatingEip());
    expect(lab.dp.faults.active()).toMatchObject({ killed: [], hung: [], partitions: [], loss: [], targetsDown: [] });
  });
});
