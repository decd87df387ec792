import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-file.js';
import { ManualClock } from '../../lab/emulator/clock.js';
import type { LabChange } from '../../lab/emulator/store.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

function lab(extra = '') {
  const clock = new ManualClock();
  const built = buildLab(parseConfigText(topologySchema, extra, 'test'), clock);
  const changes: LabChange[] = [];
  built.store.onChange((c) => changes.push(c));
  const zoneA = built.manifest.zones[0]!;
  const rtb = zoneA.privateRouteTableIds[0]!;
  const defaultRoute = () => built.store.routeTable(rtb).routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0')!;
  return { ...built, clock, changes, zoneA, rtb, defaultRoute };
}

describe('LabStore: AWS semantics failover depends on', () => {
  it('a route to an instance turns blackhole when it stops, active again when it runs', () => {
    const { store, clock, zoneA, rtb, defaultRoute, changes } = lab();
    const standby = zoneA.natInstanceIds[1]!;
    store.replaceRoute(rtb, '0.0.0.0/0', { instanceId: standby });
    expect(store.routeState(defaultRoute())).toBe('active');
    store.stopInstance(standby);
    expect(store.instance(standby).state).toBe('stopping');
    expect(store.routeState(defaultRoute())).toBe('blackhole');
    clock.advance(1000);
    expect(store.instance(standby).state).toBe('stopped');
    expect(changes.filter((c) => c.kind === 'route-table' && c.routeTableId === rtb).length).toBeGreaterThanOrEqual(2);
    store.startInstance(standby);
    clock.advance(1000);
    expect(store.instance(standby).state).toBe('running');
    expect(store.routeState(defaultRoute())).toBe('active');
  });

  it('an ENI attach passes through attaching and takes effect after eniAttachMs', () => {
    const { store, clock, zoneA, defaultRoute } = lab();
    const eni = zoneA.floatingEniId!;
    const att = store.networkInterface(eni).attachment!;
    store.detachNetworkInterface(att.attachmentId);
    expect(store.networkInterface(eni).attachment?.status).toBe('detaching');
    expect(store.routeState(defaultRoute())).toBe('blackhole');
    clock.advance(1000);
    expect(store.networkInterface(eni).status).toBe('available');
    store.attachNetworkInterface(eni, zoneA.natInstanceIds[1]!, 1);
    expect(store.networkInterface(eni).attachment?.status).toBe('attaching');
    expect(store.routeState(defaultRoute())).toBe('blackhole');
    clock.advance(1999);
    expect(store.networkInterface(eni).attachment?.status).toBe('attaching');
    clock.advance(1);
    expect(store.networkInterface(eni).attachment?.status).toBe('attached');
    expect(store.routeState(defaultRoute())).toBe('active');
  });

  it('a forced detach takes effect at once', () => {
    const { store, zoneA } = lab();
    const eni = zoneA.floatingEniId!;
    store.detachNetworkInterface(store.networkInterface(eni).attachment!.attachmentId, true);
    expect(store.networkInterface(eni).status).toBe('available');
  });

  it('the EIP follows its ENI to the new instance', () => {
    const { store, clock, zoneA } = lab();
    const eni = zoneA.floatingEniId!;
    const eipBefore = store.addresses.get(zoneA.floatingAllocationId!)!;
    store.detachNetworkInterface(store.networkInterface(eni).attachment!.attachmentId, true);
    store.attachNetworkInterface(eni, zoneA.natInstanceIds[1]!, 1);
    clock.advance(2000);
    const eipAfter = store.addresses.get(zoneA.floatingAllocationId!)!;
    expect(eipAfter.networkInterfaceId).toBe(eni);
    expect(eipAfter.publicIp).toBe(eipBefore.publicIp);
  });

  it('refuses what EC2 refuses, with its codes', () => {
    const { store, zoneA, rtb } = lab();
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'no error';
    };
    expect(codeOf(() => store.replaceRoute('rtb-0nope', '0.0.0.0/0', { instanceId: zoneA.natInstanceIds[1]! }))).toBe('InvalidRouteTableID.NotFound');
    expect(codeOf(() => store.replaceRoute(rtb, '0.0.0.0/0', { instanceId: 'i-0nope' }))).toBe('InvalidInstanceID.NotFound');
    // The first NAT carries the floating ENI too: two interfaces, so an instance target is ambiguous.
    expect(codeOf(() => store.replaceRoute(rtb, '0.0.0.0/0', { instanceId: zoneA.natInstanceIds[0]! }))).toBe('InvalidInstanceID');
    expect(codeOf(() => store.createRoute(rtb, '0.0.0.0/0', { instanceId: zoneA.natInstanceIds[1]! }))).toBe('RouteAlreadyExists');
    expect(codeOf(() => store.associateRouteTable(rtb, zoneA.privateSubnetIds[0]!))).toBe('Resource.AlreadyAssociated');
    expect(codeOf(() => store.attachNetworkInterface(zoneA.floatingEniId!, zoneA.natInstanceIds[1]!, 1))).toBe('InvalidNetworkInterface.InUse');
    expect(codeOf(() => store.startInstance(zoneA.natInstanceIds[0]!))).toBe('no error');
    store.terminateInstance(zoneA.natInstanceIds[1]!);
    expect(codeOf(() => store.startInstance(zoneA.natInstanceIds[1]!))).toBe('IncorrectInstanceState');
    expect(codeOf(() => store.associateAddress(zoneA.floatingAllocationId!, store.primaryInterface(zoneA.natInstanceIds[0]!)!.networkInterfaceId, false))).toBe('Resource.AlreadyAssociated');
  });

  it('terminating an instance deletes its primary ENI and releases the floating one', () => {
    const { store, clock, zoneA, defaultRoute } = lab();
    const nat = zoneA.natInstanceIds[0]!;
    const primary = store.primaryInterface(nat)!.networkInterfaceId;
    store.terminateInstance(nat);
    clock.advance(1000);
    expect(store.instance(nat).state).toBe('terminated');
    expect(store.networkInterfaces.get(primary)).toBeUndefined();
    expect(store.networkInterface(zoneA.floatingEniId!).status).toBe('available');
    expect(store.routeState(defaultRoute())).toBe('blackhole');
  });

  it('with a consistency delay, Describe views show the old route until the delay passes', () => {
    const { store, clock, zoneA, rtb } = lab('realism:\n  consistencyDelayMs: 500');
    const standbyEni = store.primaryInterface(zoneA.natInstanceIds[1]!)!.networkInterfaceId;
    store.replaceRoute(rtb, '0.0.0.0/0', { networkInterfaceId: standbyEni });
    const seen = () => store.routeTables.visible().find((t) => t.routeTableId === rtb)!.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0')!.networkInterfaceId;
    expect(seen()).toBe(zoneA.floatingEniId);
    clock.advance(499);
    expect(seen()).toBe(zoneA.floatingEniId);
    clock.advance(1);
    expect(seen()).toBe(standbyEni);
  });
});
