// IMDSv2 through a real http server on 127.0.0.1 (port 0) that maps to one instance,
// the way the data plane's per-instance socket does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AutoScalingController } from '../../lab/emulator/autoscaling/controller.js';
import { putLifecycleHook } from '../../lab/emulator/autoscaling/hooks.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { NoticeBoard } from '../../lab/emulator/events/notices.js';
import { createImdsHandler } from '../../lab/emulator/imds/handler.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const START = Date.parse('2024-03-01T12:00:00.000Z');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Lab {
  clock: ManualClock;
  store: LabStore;
  manifest: LabManifest;
  notices: NoticeBoard;
  /** A server that answers as IMDS for this instance. */
  serve(instanceId: string): Promise<string>;
}

function lab(): Lab {
  const clock = new ManualClock(START);
  const { store, manifest } = buildLab(topologySchema.parse({}), clock);
  const notices = new NoticeBoard({ store });
  const handle = createImdsHandler({ store, notices });
  cleanups.push(() => {
    notices.stop();
    store.dispose();
  });
  return {
    clock,
    store,
    manifest,
    notices,
    serve: async (instanceId) => {
      const server: Server = createServer((req, res) => handle(instanceId, req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  };
}

async function token(base: string, ttl = '21600'): Promise<string> {
  const res = await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBe(ttl);
  return res.text();
}

async function get(base: string, path: string, tok?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}${path}`, tok ? { headers: { 'X-aws-ec2-metadata-token': tok } } : {});
  return { status: res.status, body: await res.text() };
}

describe('IMDSv2 tokens', () => {
  it('requires a TTL header from 1 to 21600', async () => {
    const l = lab();
    const base = await l.serve(l.manifest.zones[0]!.natInstanceIds[0]!);
    for (const ttl of ['0', '21601', 'abc', '-5', '1.5', '']) {
      const res = await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
      expect(res.status, `ttl ${ttl}`).toBe(400);
    }
    expect((await fetch(`${base}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    expect((await fetch(`${base}/latest/api/token`)).status).toBe(405);
    // Token requests that went through a proxy are refused.
    const proxied = await fetch(`${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.5' },
    });
    expect(proxied.status).toBe(403);
    expect(await token(base, '1')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('IMDSv1 (no token), a made-up token, an expired token and another instance’s token get 401', async () => {
    const l = lab();
    const [a, b] = l.manifest.zones[0]!.natInstanceIds as [string, string];
    const baseA = await l.serve(a);
    const baseB = await l.serve(b);
    expect((await get(baseA, '/latest/meta-data/instance-id')).status).toBe(401);
    expect((await get(baseA, '/latest/meta-data/instance-id', 'made-up')).status).toBe(401);
    const tokB = await token(baseB);
    expect((await get(baseA, '/latest/meta-data/instance-id', tokB)).status).toBe(401);
    const short = await token(baseA, '10');
    expect(await get(baseA, '/latest/meta-data/instance-id', short)).toEqual({ status: 200, body: a });
    l.clock.advance(9_999);
    expect((await get(baseA, '/latest/meta-data/instance-id', short)).status).toBe(200);
    l.clock.advance(1);
    expect((await get(baseA, '/latest/meta-data/instance-id', short)).status).toBe(401);
  });
});

describe('IMDS metadata', () => {
  it('answers the instance’s identity, placement and network from its attached ENIs', async () => {
    const l = lab();
    const zone = l.manifest.zones[0]!;
    const id = zone.natInstanceIds[0]!;
    const base = await l.serve(id);
    const tok = await token(base);
    const primary = l.store.primaryInterface(id)!;
    const floating = l.store.networkInterface(zone.floatingEniId!);
    const subnet = l.store.subnet(zone.publicSubnetId);
    const md = async (p: string) => {
      const r = await get(base, `/latest/meta-data/${p}`, tok);
      expect(r.status, p).toBe(200);
      return r.body;
    };
    expect(await md('instance-id')).toBe(id);
    expect(await md('placement/availability-zone')).toBe('us-east-1a');
    expect(await md('placement/region')).toBe('us-east-1');
    expect(await md('local-ipv4')).toBe(primary.privateIpAddress);
    expect(await md('mac')).toBe(primary.macAddress);
    const eip = l.store.addresses.values().find((a) => a.networkInterfaceId === primary.networkInterfaceId)!;
    expect(await md('public-ipv4')).toBe(eip.publicIp);
    // The floating ENI is attached at device 1 in the default lab.
    expect((await md('network/interfaces/macs/')).split('\n').sort()).toEqual([`${primary.macAddress}/`, `${floating.macAddress}/`].sort());
    const m = `network/interfaces/macs/${floating.macAddress}`;
    expect(await md(`${m}/device-number`)).toBe('1');
    expect(await md(`${m}/interface-id`)).toBe(floating.networkInterfaceId);
    expect(await md(`${m}/local-ipv4s`)).toBe(floating.privateIpAddress);
    expect(await md(`${m}/subnet-id`)).toBe(subnet.subnetId);
    expect(await md(`${m}/vpc-id`)).toBe(l.manifest.vpcId);
    expect(await md(`${m}/subnet-ipv4-cidr-block`)).toBe('10.0.0.0/24');
    expect((await md(`${m}/`)).split('\n')).toEqual(expect.arrayContaining(['device-number', 'interface-id', 'local-ipv4s', 'subnet-id', 'vpc-id']));
    expect((await md('')).split('\n')).toEqual(expect.arrayContaining(['instance-id', 'placement/', 'network/', 'autoscaling/']));
    expect((await get(base, '/latest/meta-data/nope', tok)).status).toBe(404);
    expect((await get(base, '/latest/meta-data/instance-id/', tok)).status).toBe(404);
    expect((await get(base, '/latest/user-data', tok)).status).toBe(404);
  });

  it('follows ENI moves: a detached ENI disappears from the MAC list', async () => {
    const l = lab();
    const zone = l.manifest.zones[0]!;
    const [carrier, standby] = zone.natInstanceIds as [string, string];
    const baseCarrier = await l.serve(carrier);
    const baseStandby = await l.serve(standby);
    const tokC = await token(baseCarrier);
    const tokS = await token(baseStandby);
    const floating = l.store.networkInterface(zone.floatingEniId!);
    l.store.detachNetworkInterface(floating.attachment!.attachmentId, true);
    expect((await get(baseCarrier, '/latest/meta-data/network/interfaces/macs/', tokC)).body).not.toContain(floating.macAddress);
    l.store.attachNetworkInterface(floating.networkInterfaceId, standby, 1);
    // Still attaching: not yet visible to the instance.
    expect((await get(baseStandby, '/latest/meta-data/network/interfaces/macs/', tokS)).body).not.toContain(floating.macAddress);
    l.clock.advance(l.store.timings.eniAttachMs);
    expect((await get(baseStandby, '/latest/meta-data/network/interfaces/macs/', tokS)).body).toContain(floating.macAddress);
  });

  it('spot/instance-action and events/recommendations/rebalance are 404 until there is a notice', async () => {
    const l = lab();
    const id = l.manifest.zones[1]!.natInstanceIds[0]!;
    const base = await l.serve(id);
    const tok = await token(base);
    expect((await get(base, '/latest/meta-data/spot/instance-action', tok)).status).toBe(404);
    expect((await get(base, '/latest/meta-data/events/recommendations/rebalance', tok)).status).toBe(404);
    l.clock.advance(2000);
    l.notices.rebalance(id);
    l.notices.spotInterrupt(id, 'stop');
    const action = await get(base, '/latest/meta-data/spot/instance-action', tok);
    expect(action.status).toBe(200);
    expect(JSON.parse(action.body)).toEqual({ action: 'stop', time: '2024-03-01T12:02:02Z' });
    const rebalance = await get(base, '/latest/meta-data/events/recommendations/rebalance', tok);
    expect(JSON.parse(rebalance.body)).toEqual({ noticeTime: '2024-03-01T12:00:02Z' });
  });

  it('autoscaling/target-lifecycle-state follows the group', async () => {
    const l = lab();
    const ctl = new AutoScalingController({ store: l.store });
    ctl.start();
    cleanups.push(() => ctl.stop());
    putLifecycleHook(l.store, {
      autoScalingGroupName: 'natkeeper-a',
      lifecycleHookName: 'drain',
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
    const id = l.manifest.zones[0]!.natInstanceIds[0]!;
    const base = await l.serve(id);
    const tok = await token(base);
    expect(await get(base, '/latest/meta-data/autoscaling/target-lifecycle-state', tok)).toEqual({ status: 200, body: 'InService' });
    ctl.setInstanceHealth(id, 'Unhealthy');
    expect(await get(base, '/latest/meta-data/autoscaling/target-lifecycle-state', tok)).toEqual({ status: 200, body: 'Terminated' });
    // An instance outside any group has no autoscaling category.
    const app = l.manifest.zones[0]!.appInstanceIds[0]!;
    const appBase = await l.serve(app);
    expect((await get(appBase, '/latest/meta-data/autoscaling/target-lifecycle-state', await token(appBase))).status).toBe(404);
  });

  it('answers 404 for an unknown, stopped or terminated instance', async () => {
    const l = lab();
    const unknown = await l.serve('i-0doesnotexist000');
    expect((await fetch(`${unknown}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).status).toBe(404);
    const id = l.manifest.zones[2]!.natInstanceIds[0]!;
    const base = await l.serve(id);
    const tok = await token(base);
    l.store.stopInstance(id);
    l.clock.advance(l.store.timings.instanceStopMs);
    expect((await get(base, '/latest/meta-data/instance-id', tok)).status).toBe(404);
  });
});
