import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-file.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import { givePublicIp, reclaimPublicIps } from '../../lab/launch-public-ips.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

describe('public IPs of launched NATs', () => {
  it('are returned to the pool at termination, so replacements never exhaust it', () => {
    const clock = new ManualClock();
    // 6 usable addresses; the NAT and the floating ENI hold 2, so 4 remain.
    const topology = parseConfigText(
      topologySchema,
      'zones: [{ name: a, publicSubnet: 10.0.0.0/24, privateSubnets: [10.0.100.0/24], natInstances: 1 }]\ninternet: { eipPool: 203.0.113.128/29 }',
      'test',
    );
    const { store, manifest, eips } = buildLab(topology, clock);
    reclaimPublicIps(store, eips);
    const subnetId = manifest.zones[0]!.publicSubnetId;
    for (let round = 0; round < 10; round++) {
      const nat = store.launchInstance({ subnetId, role: 'nat' });
      givePublicIp(store, eips, nat.instanceId);
      const eni = store.primaryInterface(nat.instanceId)!;
      expect(store.addresses.values().some((a) => a.networkInterfaceId === eni.networkInterfaceId)).toBe(true);
      store.terminateInstance(nat.instanceId);
      clock.advance(5000);
    }
    expect(store.addresses.values()).toHaveLength(2);
  });

  it('app hosts get none', () => {
    const { store, manifest, eips } = buildLab(parseConfigText(topologySchema, '', 'test'), new ManualClock());
    const app = store.launchInstance({ subnetId: manifest.zones[0]!.privateSubnetIds[0]!, role: 'app' });
    const before = store.addresses.values().length;
    givePublicIp(store, eips, app.instanceId);
    expect(store.addresses.values()).toHaveLength(before);
  });
});
