import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load-file.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { buildLab, checkTopology } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const parse = (text: string) => parseConfigText(topologySchema, text, 'lab.yaml');

describe('topology file', () => {
  it('an empty file gives the default lab: 3 zones, 2 NATs in a, 1 in b and c', () => {
    const t = parse('');
    expect(t.zones.map((z) => [z.name, z.natInstances])).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 1],
    ]);
    expect(t.realism.throttling.mutating).toEqual({ burst: 50, refillPerSecond: 5 });
    expect(t.realism.mutatingLatencyMs).toBe(150);
    expect(t.realism.eniAttachMs).toBe(2000);
  });

  it.each([
    ['zones:\n  - name: A\n    publicSubnet: 10.0.0.0/24\n    privateSubnets: [10.0.100.0/24]', 'zones[0].name'],
    ['zones:\n  - name: a\n    publicSubnet: 10.0.0.0/33\n    privateSubnets: [10.0.100.0/24]', 'zones[0].publicSubnet'],
    ['zones:\n  - name: a\n    publicSubnet: 10.0.0.0/24\n    privateSubnets: []', 'zones[0].privateSubnets'],
    ['realism:\n  errorRate: 2', 'realism.errorRate'],
    ['realism:\n  throttling:\n    mutating: { burst: -1, refillPerSecond: 5 }', 'realism.throttling.mutating.burst'],
    ['internet:\n  echoTargets: [not-an-ip]', 'internet.echoTargets[0]'],
    ['zonez: []', 'zonez'],
    ['region: Mars', 'region'],
  ])('rejects %j naming %s', (text, field) => {
    let error: unknown;
    try {
      parse(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('lab.yaml');
    expect((error as ConfigError).issues.some((i) => i.startsWith(field))).toBe(true);
  });

  it('rejects YAML that does not parse', () => {
    expect(() => parse('zones: [')).toThrow(/lab.yaml is not valid YAML/);
  });

  it.each([
    ['zones:\n  - { name: a, publicSubnet: 10.1.0.0/24, privateSubnets: [10.0.100.0/24] }', 'zones[0].publicSubnet: 10.1.0.0/24 is not inside vpcCidr'],
    ['zones:\n  - { name: a, publicSubnet: 10.0.0.0/24, privateSubnets: [10.0.0.128/25] }', 'overlaps'],
    ['zones:\n  - { name: a, publicSubnet: 10.0.0.0/24, privateSubnets: [10.0.1.0/24] }\n  - { name: a, publicSubnet: 10.0.2.0/24, privateSubnets: [10.0.3.0/24] }', 'listed twice'],
    ['internet: { echoTargets: [203.0.113.200] }', 'internet.echoTargets[0]: 203.0.113.200 is inside internet.eipPool'],
    ['internet: { eipPool: 203.0.113.128/30 }', 'internet.eipPool: 203.0.113.128/30 has 2 usable addresses, the topology needs at least 7'],
  ])('checkTopology rejects %j', (text, message) => {
    expect(() => checkTopology(parse(text))).toThrow(message);
  });
});

describe('buildLab', () => {
  const { store, manifest } = buildLab(parse(''), new ManualClock());

  it('gives every zone a floating ENI with an EIP, attached to its first NAT, and a private route to it', () => {
    for (const z of manifest.zones) {
      const eni = store.networkInterface(z.floatingEniId!);
      expect(eni.attachment).toMatchObject({ instanceId: z.natInstanceIds[0], deviceIndex: 1, status: 'attached' });
      expect(eni.sourceDestCheck).toBe(false);
      expect(store.addresses.values().find((a) => a.networkInterfaceId === eni.networkInterfaceId)?.publicIp).toMatch(/^203\.0\.113\./);
      const rt = store.routeTable(z.privateRouteTableIds[0]!);
      const def = rt.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0')!;
      expect(def.networkInterfaceId).toBe(z.floatingEniId);
      expect(store.routeState(def)).toBe('active');
      expect(store.effectiveRouteTable(z.privateSubnetIds[0]!)?.routeTableId).toBe(rt.routeTableId);
    }
  });

  it('is deterministic for a seed', () => {
    const again = buildLab(parse(''), new ManualClock());
    expect(again.manifest).toEqual(manifest);
  });

  it('puts NATs in their zone ASG with source/dest check off and app hosts in private subnets', () => {
    const a = manifest.zones[0]!;
    expect(store.autoScalingGroups.get(a.autoScalingGroupName)?.instances.map((i) => i.instanceId)).toEqual(a.natInstanceIds);
    for (const id of a.natInstanceIds) expect(store.instance(id).sourceDestCheck).toBe(false);
    for (const id of a.appInstanceIds) expect(a.privateSubnetIds).toContain(store.instance(id).subnetId);
  });
});
