// src/aws/node-setup.ts against the lab's EC2 API: the source/dest check on every
// ENI of a NAT, and the floating ENI attached, moved or left alone.
import {
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type EC2Client,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEc2Client } from '../../src/aws/clients.js';
import { disableSourceDestCheck, ensureFloatingEni, NodeSetupError, type NodeSetupOptions } from '../../src/aws/node-setup.js';
import { ManualClock } from '../../src/lease/clock.js';
import { DUMMY_CREDENTIALS, startApiLab, type ApiLab } from '../support/api-lab.js';

// Fast polls and retries: the lab answers in milliseconds.
const FAST: NodeSetupOptions = { pollIntervalMs: 10, attachTimeoutMs: 5_000, retry: { minTimeoutMs: 5, maxTimeoutMs: 20 } };

async function open(opts: Parameters<typeof startApiLab>[0]): Promise<{ lab: ApiLab; ec2: EC2Client }> {
  const lab = await startApiLab(opts);
  // maxAttempts 1: the SDK does not retry, so node-setup's own retries are what is tested.
  return { lab, ec2: createEc2Client({ region: 'us-east-1', endpoint: lab.endpoint, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }) };
}

async function enisOf(ec2: EC2Client, instanceId: string): Promise<NetworkInterface[]> {
  const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return out.NetworkInterfaces ?? [];
}

async function eni(ec2: EC2Client, id: string): Promise<NetworkInterface> {
  return (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
}

/** The actions the lab answered since the log was last cleared. */
const actionsSeen = (lab: ApiLab) => lab.api.requestLog.entries().map((e) => e.action);

describe('node setup, fast lab', () => {
  let lab: ApiLab;
  let ec2: EC2Client;
  // The lab's injected-error dice: the next `failNext` draws fail (with a non-zero error rate).
  let failNext = 0;
  const zone = (i: number) => lab.manifest.zones[i]!;

  beforeAll(async () => {
    ({ lab, ec2 } = await open({ random: () => (failNext-- > 0 ? 0 : 1) }));
  });
  afterAll(async () => {
    ec2?.destroy();
    await lab?.close();
  });

  it('already attached here: no mutating call', async () => {
    lab.api.requestLog.clear();
    const r = await ensureFloatingEni(ec2, zone(1).natInstanceIds[0]!, { ...FAST, eniId: zone(1).floatingEniId! });
    expect(r).toEqual({ action: 'already-attached', eniId: zone(1).floatingEniId, deviceIndex: 1 });
    expect(actionsSeen(lab)).toEqual(['DescribeNetworkInterfaces']);
  });

  it('attached to another NAT with ifAttachedElsewhere leave (a booting node): left there, no mutating call', async () => {
    const [a1, a2] = zone(0).natInstanceIds as [string, string];
    const floating = zone(0).floatingEniId!;
    lab.api.requestLog.clear();
    const r = await ensureFloatingEni(ec2, a2, { ...FAST, eniId: floating, ifAttachedElsewhere: 'leave' });
    expect(r).toEqual({ action: 'held-elsewhere', eniId: floating, attachedTo: a1 });
    expect(actionsSeen(lab)).toEqual(['DescribeNetworkInterfaces']);
  });

  it('attached to another NAT: moved here, and the other NAT no longer has it', async () => {
    const [a1, a2] = zone(0).natInstanceIds as [string, string];
    const floating = zone(0).floatingEniId!;
    const r = await ensureFloatingEni(ec2, a2, { ...FAST, eniId: floating });
    expect(r).toEqual({ action: 'moved', eniId: floating, deviceIndex: 1, fromInstance: a1 });
    expect((await eni(ec2, floating)).Attachment).toMatchObject({ InstanceId: a2, DeviceIndex: 1, Status: 'attached' });
    expect((await enisOf(ec2, a1)).map((e) => e.NetworkInterfaceId)).not.toContain(floating);
  });

  it('turns the check off on both ENIs of a NAT carrying the floating ENI, then changes nothing', async () => {
    const a2 = zone(0).natInstanceIds[1]!;
    const ids = (await enisOf(ec2, a2)).map((e) => e.NetworkInterfaceId!).sort();
    expect(ids).toHaveLength(2); // primary + the floating ENI moved here above
    for (const id of ids) await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, SourceDestCheck: { Value: true } }));

    const first = await disableSourceDestCheck(ec2, a2, FAST);
    expect([first.changed.sort(), first.unchanged]).toEqual([ids, []]);
    expect((await enisOf(ec2, a2)).map((e) => e.SourceDestCheck)).toEqual([false, false]);

    lab.api.requestLog.clear();
    const second = await disableSourceDestCheck(ec2, a2, FAST);
    expect([second.changed, second.unchanged.sort()]).toEqual([[], ids]);
    expect(actionsSeen(lab)).toEqual(['DescribeNetworkInterfaces']);
  });

  it('attaches an available ENI at the device index asked for', async () => {
    const c1 = zone(2).natInstanceIds[0]!;
    const floating = zone(2).floatingEniId!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: (await eni(ec2, floating)).Attachment!.AttachmentId!, Force: true }));
    expect((await eni(ec2, floating)).Status).toBe('available');
    const r = await ensureFloatingEni(ec2, c1, { ...FAST, eniId: floating, deviceIndex: 2 });
    expect(r).toEqual({ action: 'attached', eniId: floating, deviceIndex: 2 });
    expect((await eni(ec2, floating)).Attachment).toMatchObject({ InstanceId: c1, DeviceIndex: 2, Status: 'attached' });
  });

  it('retries server errors', async () => {
    lab.api.requestLog.clear();
    failNext = 2;
    lab.api.realism.setErrorRate(0.5);
    try {
      const r = await disableSourceDestCheck(ec2, zone(1).natInstanceIds[0]!, FAST);
      expect(r.changed).toEqual([]);
    } finally {
      lab.api.realism.setErrorRate(0);
    }
    expect(lab.api.requestLog.entries().map((e) => e.status)).toEqual([500, 500, 200]);
  });

  it('an unknown ENI: an error naming it and the AWS code; nothing changed', async () => {
    lab.api.requestLog.clear();
    const err = await ensureFloatingEni(ec2, zone(0).natInstanceIds[0]!, { ...FAST, eniId: 'eni-0123456789abcdef0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeSetupError);
    expect((err as NodeSetupError).eniId).toBe('eni-0123456789abcdef0');
    expect((err as Error).message).toMatch(/^floating ENI eni-0123456789abcdef0: InvalidNetworkInterfaceID\.NotFound/);
    expect(actionsSeen(lab)).toEqual(['DescribeNetworkInterfaces']);
  });

  it('an unknown instance: an error naming it', async () => {
    await expect(disableSourceDestCheck(ec2, 'i-0123456789abcdef0', FAST)).rejects.toThrow(/no network interface is attached to i-0123456789abcdef0/);
  });
});

describe('node setup, lab with ENI attach 500 ms and detach 200 ms', () => {
  const ATTACH_MS = 500;
  const DETACH_MS = 200;
  let lab: ApiLab;
  let ec2: EC2Client;
  const zone = (i: number) => lab.manifest.zones[i]!;
  // One describe per 50 ms: the rate the lab's describe bucket refills (20/s), so the waits are never throttled.
  const SLOW: NodeSetupOptions = { ...FAST, pollIntervalMs: 50 };

  beforeAll(async () => {
    ({ lab, ec2 } = await open({ topology: { realism: { eniAttachMs: ATTACH_MS, eniDetachMs: DETACH_MS } } }));
  });
  afterAll(async () => {
    ec2?.destroy();
    await lab?.close();
  });

  /** The attachment statuses the store goes through for one ENI while fn runs. */
  async function statusesDuring(eniId: string, fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const off = lab.store.onChange((c) => {
      if (c.kind === 'eni-attachment' && c.networkInterfaceId === eniId) seen.push(c.status);
    });
    try {
      await fn();
    } finally {
      off();
    }
    return seen;
  }

  it('waits for a plain detach still under way, then for the attach', async () => {
    const c1 = zone(2).natInstanceIds[0]!;
    const floating = zone(2).floatingEniId!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: (await eni(ec2, floating)).Attachment!.AttachmentId! }));
    const started = Date.now();
    let result: unknown;
    const seen = await statusesDuring(floating, async () => {
      result = await ensureFloatingEni(ec2, c1, { ...SLOW, eniId: floating });
    });
    expect(result).toEqual({ action: 'attached', eniId: floating, deviceIndex: 1 });
    expect(seen).toEqual(['detached', 'attaching', 'attached']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTACH_MS);
  });

  it('a move waits through attaching', async () => {
    const [a1, a2] = zone(0).natInstanceIds as [string, string];
    const floating = zone(0).floatingEniId!;
    let result: unknown;
    const seen = await statusesDuring(floating, async () => {
      result = await ensureFloatingEni(ec2, a2, { ...SLOW, eniId: floating });
    });
    expect(result).toEqual({ action: 'moved', eniId: floating, deviceIndex: 1, fromInstance: a1 });
    // Forced: the lab detaches at once, without waiting eniDetachMs.
    expect(seen).toEqual(['detaching', 'detached', 'attaching', 'attached']);
  });

  it('gives up after attachTimeoutMs (injected clock), naming the ENI and its state; a re-run then waits it out', async () => {
    const b1 = zone(1).natInstanceIds[0]!;
    const floating = zone(1).floatingEniId!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: (await eni(ec2, floating)).Attachment!.AttachmentId!, Force: true }));
    // Each poll's sleep moves the injected clock instead of waiting: the 100 ms run out at once.
    const clock = new ManualClock(0);
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock.advance(ms);
    };
    const err = await ensureFloatingEni(ec2, b1, { ...FAST, eniId: floating, attachTimeoutMs: 100, pollIntervalMs: 30, clock, sleep }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeSetupError);
    expect(err).toMatchObject({ eniId: floating, state: `in-use, attaching on ${b1}` });
    expect((err as Error).message).toBe(`floating ENI ${floating} stuck in state 'in-use, attaching on ${b1}' for 100 ms: expected attached`);
    expect(sleeps).toEqual([30, 30, 30, 10]);

    lab.api.requestLog.clear();
    expect(await ensureFloatingEni(ec2, b1, { ...SLOW, eniId: floating })).toEqual({ action: 'already-attached', eniId: floating, deviceIndex: 1 });
    expect(new Set(actionsSeen(lab))).toEqual(new Set(['DescribeNetworkInterfaces']));
    expect((await eni(ec2, floating)).Attachment!.Status).toBe('attached');
  });
});
