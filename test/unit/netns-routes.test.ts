// The kernel state the data plane computes from the emulated state: router
// routes per route table, their diffs, routing inside instances, nft scripts,
// and probe-stream summaries. Pure; no root needed.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import type { NetworkInterface, Route } from '../../lab/emulator/model.js';
import { faultsRuleset, igwMapUpdate, igwRuleset, replaceTable, sdcSetsUpdate, targetsUpdate } from '../../lab/netns/nft.js';
import { summarizeProbes } from '../../lab/netns/probe-stats.js';
import { OpQueue } from '../../lab/netns/queue.js';
import {
  desiredRouterRoutes,
  instanceRouteLines,
  instanceRouting,
  instanceRules,
  normaliseCidr,
  routeDiffLines,
  type KernelRoute,
  type NextHop,
} from '../../lab/netns/routes.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

function lab() {
  const clock = new ManualClock();
  const topology = topologySchema.parse({ realism: { eniAttachMs: 100, eniDetachMs: 50, instanceStopMs: 100 } });
  const { store, manifest } = buildLab(topology, clock);
  const bridges = new Map(store.subnets.values().map((s, i) => [s.subnetId, `br${i}`]));
  const desired = (rtb: string) => desiredRouterRoutes(store.routeTable(rtb), (r) => store.routeNextHop(r), (s) => bridges.get(s));
  return { clock, store, manifest, bridges, desired };
}

describe('desiredRouterRoutes', () => {
  it('leaves out the local route, sends igw routes over the router-igw link', () => {
    const { manifest, desired } = lab();
    expect(desired(manifest.zones[0]!.publicRouteTableId)).toEqual([{ dst: '0.0.0.0/0', type: 'unicast', via: '169.254.0.2', dev: 'rtr-igw' }]);
  });

  it("routes an ENI target via the ENI's address on its subnet's bridge", () => {
    const { store, manifest, bridges, desired } = lab();
    const z = manifest.zones[0]!;
    const floating = store.networkInterface(z.floatingEniId!);
    expect(desired(z.privateRouteTableIds[0]!)).toEqual([
      { dst: '0.0.0.0/0', type: 'unicast', via: floating.privateIpAddress, dev: bridges.get(z.publicSubnetId) },
    ]);
  });

  it('follows routeNextHop: an instance target, then a stopped instance (blackhole)', () => {
    const { store, clock, manifest, bridges, desired } = lab();
    const z = manifest.zones[0]!;
    const rtb = z.privateRouteTableIds[0]!;
    const a2 = z.natInstanceIds[1]!;
    store.replaceRoute(rtb, '0.0.0.0/0', { instanceId: a2 });
    expect(desired(rtb)).toEqual([{ dst: '0.0.0.0/0', type: 'unicast', via: store.primaryInterface(a2)!.privateIpAddress, dev: bridges.get(z.publicSubnetId) }]);
    store.stopInstance(a2);
    expect(desired(rtb)).toEqual([{ dst: '0.0.0.0/0', type: 'blackhole' }]);
    clock.advance(200);
    expect(desired(rtb)).toEqual([{ dst: '0.0.0.0/0', type: 'blackhole' }]);
  });

  it('blackholes a detaching or detached ENI, and an ENI whose subnet has no bridge yet', () => {
    const { store, clock, manifest, desired } = lab();
    const z = manifest.zones[0]!;
    const rtb = z.privateRouteTableIds[0]!;
    store.detachNetworkInterface(store.networkInterface(z.floatingEniId!).attachment!.attachmentId);
    expect(desired(rtb)).toEqual([{ dst: '0.0.0.0/0', type: 'blackhole' }]);
    clock.advance(100);
    expect(desired(rtb)).toEqual([{ dst: '0.0.0.0/0', type: 'blackhole' }]);
    const eni = { subnetId: 'subnet-nobridge', privateIpAddress: '10.0.0.99' } as NetworkInterface;
    const hop = (): NextHop => ({ kind: 'eni', eni, instance: store.instance(z.natInstanceIds[0]!) });
    expect(desiredRouterRoutes({ routes: [{ destinationCidrBlock: '10.9.0.0/16', origin: 'CreateRoute' }] }, hop, () => undefined)).toEqual([
      { dst: '10.9.0.0/16', type: 'blackhole' },
    ]);
  });

  it('normalises destinations the way the kernel stores them', () => {
    expect(normaliseCidr('10.1.2.3/16')).toBe('10.1.0.0/16');
    const routes: Route[] = [{ destinationCidrBlock: '198.51.100.7/24', origin: 'CreateRoute', gatewayId: 'igw-1' }];
    expect(desiredRouterRoutes({ routes }, () => ({ kind: 'igw' }), () => undefined)[0]!.dst).toBe('198.51.100.0/24');
  });
});

describe('routeDiffLines', () => {
  const via = (dst: string, ip: string): KernelRoute => ({ dst, type: 'unicast', via: ip, dev: 'br0' });
  const bh = (dst: string): KernelRoute => ({ dst, type: 'blackhole' });
  const applied = (...rs: KernelRoute[]) => new Map(rs.map((r) => [r.dst, r]));

  it.each<[string, Map<string, KernelRoute>, KernelRoute[], string[]]>([
    ['nothing to do', applied(via('0.0.0.0/0', '10.0.0.10')), [via('0.0.0.0/0', '10.0.0.10')], []],
    ['new route', applied(), [via('0.0.0.0/0', '10.0.0.10')], ['route replace 0.0.0.0/0 via 10.0.0.10 dev br0 onlink table 1001']],
    ['next hop change', applied(via('0.0.0.0/0', '10.0.0.10')), [via('0.0.0.0/0', '10.0.0.11')], ['route replace 0.0.0.0/0 via 10.0.0.11 dev br0 onlink table 1001']],
    ['to blackhole', applied(via('0.0.0.0/0', '10.0.0.10')), [bh('0.0.0.0/0')], ['route replace blackhole 0.0.0.0/0 table 1001']],
    ['from blackhole', applied(bh('0.0.0.0/0')), [via('0.0.0.0/0', '10.0.0.10')], ['route replace 0.0.0.0/0 via 10.0.0.10 dev br0 onlink table 1001']],
    [
      'removed route (after the replacements)',
      applied(via('192.168.0.0/16', '10.0.0.9'), via('0.0.0.0/0', '10.0.0.10')),
      [via('0.0.0.0/0', '10.0.0.11')],
      ['route replace 0.0.0.0/0 via 10.0.0.11 dev br0 onlink table 1001', 'route del 192.168.0.0/16 table 1001'],
    ],
  ])('%s', (_name, before, desired, lines) => {
    expect(routeDiffLines(before, desired, 1001)).toEqual(lines);
  });
});

describe('instanceRouting (ec2-net-utils style)', () => {
  const eth = (deviceIndex: number, ip: string) => ({ deviceIndex, ifname: `eth${deviceIndex}`, ip, subnetCidr: '10.0.0.0/24', gatewayIp: '10.0.0.1' });

  it('an app instance: default via eth0, a source table per device', () => {
    const plan = instanceRouting('app', [eth(0, '10.0.0.10')]);
    expect(instanceRouteLines(plan)).toEqual([
      'route replace 10.0.0.0/24 dev eth0 src 10.0.0.10 table 10000',
      'route replace default via 10.0.0.1 dev eth0 table 10000',
      'route replace default via 10.0.0.1 dev eth0',
    ]);
    expect([...instanceRules(plan)]).toEqual([[10000, 'from 10.0.0.10 lookup 10000']]);
  });

  it('a NAT instance egresses by its highest device (the floating ENI)', () => {
    const plan = instanceRouting('nat', [eth(1, '10.0.0.12'), eth(0, '10.0.0.10')]);
    expect(plan.defaultRoute).toEqual({ via: '10.0.0.1', dev: 'eth1' });
    expect([...instanceRules(plan).keys()]).toEqual([10000, 10001]);
    expect(instanceRouting('app', [eth(0, '10.0.0.10'), eth(1, '10.0.0.12')]).defaultRoute?.dev).toBe('eth0');
  });

  it('no interfaces: no default route', () => {
    expect(instanceRouting('nat', [])).toEqual({ sourceTables: [] });
  });
});

describe('nft scripts', () => {
  it('replace a whole table in one transaction', () => {
    expect(replaceTable('ip', 't', '  chain c {}')).toBe('table ip t {}\ndelete table ip t\ntable ip t {\n  chain c {}\n}\n');
  });

  it('translate EIPs with maps, dropping what has no EIP', () => {
    const s = igwRuleset('10.0.0.0/16', new Map([['203.0.113.129', '10.0.0.10']]));
    expect(s).toContain('map pub2priv { type ipv4_addr : ipv4_addr; elements = { 203.0.113.129 : 10.0.0.10 } }');
    expect(s).toContain('map priv2pub { type ipv4_addr : ipv4_addr; elements = { 10.0.0.10 : 203.0.113.129 } }');
    expect(s).toContain('iifname "igw-inet" notrack ip daddr set ip daddr map @pub2priv accept');
    expect(s).toContain('iifname "igw-rtr" ip saddr 10.0.0.0/16 counter drop');
  });

  it('update an EIP association as element changes only', () => {
    const before = new Map([['203.0.113.131', '10.0.0.12'], ['203.0.113.129', '10.0.0.10']]);
    const after = new Map([['203.0.113.131', '10.0.0.20'], ['203.0.113.129', '10.0.0.10']]);
    expect(igwMapUpdate(before, after)).toBe(
      [
        'delete element ip natkeeper_lab_igw pub2priv { 203.0.113.131 }',
        'delete element ip natkeeper_lab_igw priv2pub { 10.0.0.12 }',
        'add element ip natkeeper_lab_igw pub2priv { 203.0.113.131 : 10.0.0.20 }',
        'add element ip natkeeper_lab_igw priv2pub { 10.0.0.20 : 203.0.113.131 }',
        '',
      ].join('\n'),
    );
    expect(igwMapUpdate(before, before)).toBe('');
    expect(igwMapUpdate(before, new Map())).not.toContain('add element');
  });

  it('source/dest check sets: flushed and refilled atomically', () => {
    expect(sdcSetsUpdate([])).toBe('flush set bridge natkeeper_lab_sdc checked\nflush set bridge natkeeper_lab_sdc allowed\n');
    expect(sdcSetsUpdate([{ port: 'eab', ip: '10.0.0.10' }])).toContain('add element bridge natkeeper_lab_sdc allowed { "eab" . 10.0.0.10 }');
  });

  it('faults: partitions both ways, loss with numgen, 100 % as a plain drop', () => {
    const s = faultsRuleset({ partitions: [{ a: '10.0.0.10', b: '10.0.0.11' }], loss: [{ ports: ['e1'], pct: 30 }, { ports: ['e2'], pct: 100 }, { ports: [], pct: 50 }] });
    expect(s).toContain('elements = { 10.0.0.10 . 10.0.0.11, 10.0.0.11 . 10.0.0.10 }');
    expect(s).toContain('iifname { "e1" } numgen random mod 100 < 30 counter drop');
    expect(s).toContain('oifname { "e1" } numgen random mod 100 < 30 counter drop');
    expect(s).toContain('iifname { "e2" } counter drop');
    expect(s.match(/numgen/g)).toHaveLength(2);
  });

  it('targets down: a set, flushed and refilled', () => {
    expect(targetsUpdate([])).toBe('flush set ip natkeeper_lab_targets down\n');
    expect(targetsUpdate(['198.51.100.10'])).toContain('add element ip natkeeper_lab_targets down { 198.51.100.10 }');
  });
});

describe('summarizeProbes', () => {
  const probes = (answered: (string | null)[], interval = 10) =>
    answered.map((seen, seq) => ({ seq, sentAt: seq * interval, ...(seen ? { receivedAt: seq * interval + 1, seen } : {}) }));

  it('no loss: the longest gap is the interval', () => {
    const s = summarizeProbes('t', 10, 50, probes(['a', 'a', 'a', 'a', 'a']));
    expect(s).toMatchObject({ sent: 5, received: 5, lost: 0, lossPct: 0, longestGapMs: 10, longestLossRun: 0, seen: { a: 5 }, transitions: [] });
    expect(s.rttMs).toEqual({ p50: 1, p99: 1, max: 1 });
  });

  it('an outage and a change of egress address', () => {
    const s = summarizeProbes('t', 10, 80, probes(['a', 'a', null, null, null, 'b', 'b', 'b']));
    expect(s).toMatchObject({ sent: 8, received: 5, lost: 3, lossPct: 37.5, longestGapMs: 40, longestLossRun: 3, longestLossStartMs: 20, seen: { a: 2, b: 3 } });
    expect(s.transitions).toEqual([{ seq: 5, atMs: 50, from: 'a', to: 'b' }]);
  });

  it('loss at the start and at the end counts as gaps too', () => {
    expect(summarizeProbes('t', 10, 50, probes([null, null, 'a', 'a', 'a'])).longestGapMs).toBe(20);
    expect(summarizeProbes('t', 10, 50, probes(['a', 'a', null, null, null])).longestGapMs).toBe(30);
    const none = summarizeProbes('t', 10, 30, probes([null, null, null]));
    expect(none).toMatchObject({ received: 0, lost: 3, longestGapMs: 20, longestLossRun: 3, rttMs: null });
  });
});

describe('OpQueue', () => {
  it('runs jobs one at a time, in order, carries on past a failure, and settles', async () => {
    const errors: string[] = [];
    const q = new OpQueue((label) => errors.push(label));
    const order: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 2));
      order.push(name);
      running--;
      if (fail) throw new Error(name);
    };
    q.push('a', job('a'));
    q.push('b', job('b', true));
    const c = q.run('c', async () => {
      await job('c')();
      return 42;
    });
    await expect(q.run('d', () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(await c).toBe(42);
    await q.settled();
    expect(q.idle).toBe(true);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(errors).toEqual(['b']);
  });
});
