// Naming rules of the data plane: unique, stable, within the kernel's limits.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import {
  IFNAME_MAX,
  ShortNames,
  bridgeMac,
  checkPrefix,
  eniParkedLink,
  eniRouterLink,
  eniShortNames,
  idHex,
  infraNamespaces,
  instanceShortNames,
  randomPrefix,
  subnetBridge,
  subnetShortNames,
} from '../../lab/netns/names.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

describe('lab prefixes', () => {
  it.each([
    ['nk1a2b-', true],
    ['lab-', true],
    ['nk-', true],
    ['', false],
    ['nk1a2b', false],
    ['NK1-', false],
    ['1nk-', false],
    ['nk_1-', false],
    ['nkaaaaaaaaaaaaaa-', false],
  ])('%j is valid: %s', (prefix, ok) => {
    if (ok) expect(checkPrefix(prefix)).toBe(prefix);
    else expect(() => checkPrefix(prefix)).toThrow(/prefix/);
  });

  it('random prefixes are valid and differ', () => {
    const seen = new Set(Array.from({ length: 20 }, () => checkPrefix(randomPrefix())));
    expect(seen.size).toBeGreaterThan(15);
  });

  it('names the infrastructure namespaces', () => {
    expect(infraNamespaces('nk12ab-')).toEqual({ router: 'nk12ab-router', igw: 'nk12ab-igw', inet: 'nk12ab-inet', park: 'nk12ab-park' });
  });
});

describe('short names', () => {
  it('drops the resource type and the leading 0 of long AWS ids', () => {
    expect(idHex('i-0123456789abcdef0')).toBe('123456789abcdef0');
    expect(idHex('eni-0aaaabbbbccccdddd')).toBe('aaaabbbbccccdddd');
    expect(idHex('i-1234abcd')).toBe('1234abcd');
  });

  it('are stable per id, unique, and lengthen only on collision', () => {
    const names = new ShortNames(4, 8);
    const a = names.get('i-0abcd111100000000');
    const b = names.get('i-0abcd222200000000');
    expect(a).toBe('abcd');
    expect(b).toBe('abcd2');
    expect(names.get('i-0abcd111100000000')).toBe(a);
  });

  it('falls back to a counter when two ids share their whole hex part', () => {
    const names = new ShortNames(2, 4);
    expect(names.get('x-abcd')).toBe('ab');
    expect(names.get('y-abcd')).toBe('abc');
    expect(names.get('z-abcd')).toBe('abcd');
    expect(names.get('w-abcd')).toBe('abc1');
  });

  it('releases names for reuse', () => {
    const names = new ShortNames(2, 4);
    names.get('a-ab11');
    names.release('a-ab11');
    expect(names.get('b-ab22')).toBe('ab');
  });

  it('keeps every interface name of a big lab within 15 characters and unique', () => {
    const topology = topologySchema.parse({
      zones: ['a', 'b', 'c', 'd', 'e', 'f'].map((name, i) => ({
        name,
        publicSubnet: `10.0.${i}.0/24`,
        privateSubnets: [`10.0.${100 + i}.0/24`, `10.0.${150 + i}.0/24`],
        natInstances: 8,
        appHostsPerPrivateSubnet: 8,
      })),
    });
    const { store } = buildLab(topology, new ManualClock());
    const enis = eniShortNames();
    const links = store.networkInterfaces.values().flatMap((e) => {
      const s = enis.get(e.networkInterfaceId);
      return [eniRouterLink(s), eniParkedLink(s)];
    });
    const subnets = subnetShortNames();
    const bridges = store.subnets.values().map((s) => subnetBridge(subnets.get(s.subnetId)));
    for (const n of [...links, ...bridges]) {
      expect(n.length).toBeLessThanOrEqual(IFNAME_MAX);
      expect(n).toMatch(/^[a-z0-9]+$/);
    }
    expect(new Set(links).size).toBe(links.length);
    expect(new Set(bridges).size).toBe(bridges.length);
    const instances = instanceShortNames();
    const ns = store.instances.values().map((i) => instances.get(i.instanceId));
    expect(new Set(ns).size).toBe(ns.length);
    for (const n of ns) expect(['router', 'igw', 'inet', 'park']).not.toContain(n);
  });

  it('gives bridges a stable, locally administered MAC', () => {
    expect(bridgeMac('subnet-0a1b2c3d4e5f60718')).toBe('02:b0:a1:b2:c3:d4');
    expect(bridgeMac('subnet-0a1b2c3d4e5f60718')).toBe(bridgeMac('subnet-0a1b2c3d4e5f60718'));
  });
});
