// The failover bench's lab: zone a with two NAT instances (active + standby, the floating
// ENI on the first) and an app host, zone b with one NAT and an app host. One lab per
// policy, so no decision maker inherits another's leftovers (an agent's nftables, a
// route it moved). Everything the bench reads about egress comes from the lab's store;
// every packet stays inside the lab's namespaces.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAgentLab, ensureLeaseTable } from '../../../lab/agents.js';
import { startLab, type RunningLab } from '../../../lab/lab.js';
import type { DataPlane } from '../../../lab/netns/dataplane.js';
import { randomPrefix } from '../../../lab/netns/names.js';
import type { ZoneManifest } from '../../../lab/topology/build.js';
import { topologySchema, type Topology } from '../../../lab/topology/schema.js';
import { waitFor } from './wait.js';

export const LEASE_TABLE = 'natkeeper-failover-bench';
const DEFAULT_ROUTE = '0.0.0.0/0';

export interface BenchLabOptions {
  /** ENI attach / detach effect delays (the lab's assumptions; AWS publishes none). */
  eniAttachMs: number;
  eniDetachMs: number;
}

export interface BenchLab {
  lab: RunningLab;
  dp: DataPlane;
  topology: Topology;
  prefix: string;
  dir: string;
  zone: ZoneManifest;
  /** Every app host of the lab (the outage is measured from all of them). */
  apps: string[];
  /** Zone a's NAT instances that are running now. */
  runningNats(): string[];
  /** The instance zone a's private tables send 0.0.0.0/0 to now (through an ENI's attachment), if any. */
  egressInstance(): string | undefined;
  /** Waits (bounded) until a running zone-a NAT other than `known` has its namespace up: the ASG's replacement. */
  waitReplacement(known: ReadonlySet<string>, timeoutMs: number): Promise<string>;
  /** Bench housekeeping, outside every measured window: zone a's tables to `instance`'s primary ENI, straight in the store. */
  pointZoneAt(instance: string): void;
  close(): Promise<void>;
}

export async function startBenchLab(opts: BenchLabOptions): Promise<BenchLab> {
  const topology = topologySchema.parse({
    zones: [
      { name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
      { name: 'b', publicSubnet: '10.0.1.0/24', privateSubnets: ['10.0.101.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
    ],
    // A killed NAT is replaced quickly so the next run can start; the measured outage never waits for it.
    autoScaling: { replacementDelayMs: 1_000 },
    realism: { eniAttachMs: opts.eniAttachMs, eniDetachMs: opts.eniDetachMs },
  });
  const prefix = randomPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'nk-failover-bench-'));
  let lab: RunningLab | undefined;
  try {
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix, dataPlane: 'on' });
    await lab.dataPlane!.settled();
    await ensureLeaseTable(lab, LEASE_TABLE);
  } catch (err) {
    await closeAgentLab({ agents: [], lab, prefix, dir });
    throw err;
  }
  const running = lab;
  const { store } = running;
  const dp = running.dataPlane!;
  const zone = running.manifest.zones[0]!;
  const apps = running.manifest.zones.flatMap((z) => z.appInstanceIds);

  const runningNats = () => {
    const group = store.autoScalingGroups.get(zone.autoScalingGroupName);
    return (group?.instances ?? []).map((m) => m.instanceId).filter((i) => store.instances.get(i)?.state === 'running');
  };

  const egressInstance = () => {
    const route = store.routeTables.get(zone.privateRouteTableIds[0]!)?.routes.find((r) => r.destinationCidrBlock === DEFAULT_ROUTE);
    if (!route) return undefined;
    if (route.instanceId) return route.instanceId;
    if (!route.networkInterfaceId) return undefined;
    const att = store.networkInterfaces.get(route.networkInterfaceId)?.attachment;
    return att && att.status === 'attached' ? att.instanceId : undefined;
  };

  const waitReplacement = (known: ReadonlySet<string>, timeoutMs: number) =>
    waitFor(`a replacement NAT in zone a (known: ${[...known].join(', ')})`, timeoutMs, async () => {
      const id = runningNats().find((i) => !known.has(i));
      if (!id) return undefined;
      // exec throws at once while the data plane has no namespace for it yet.
      const r = await Promise.resolve()
        .then(() => dp.exec(id, ['true'], { timeoutMs: 5_000 }))
        .catch(() => undefined);
      return r?.code === 0 ? id : undefined;
    });

  const pointZoneAt = (instance: string) => {
    const eni = store.primaryInterface(instance);
    if (!eni) throw new Error(`${instance} has no primary ENI`);
    for (const rtb of zone.privateRouteTableIds) store.replaceRoute(rtb, DEFAULT_ROUTE, { networkInterfaceId: eni.networkInterfaceId });
  };

  return {
    lab: running,
    dp,
    topology,
    prefix,
    dir,
    zone,
    apps,
    runningNats,
    egressInstance,
    waitReplacement,
    
    pointZoneAt,
    close: () => closeAgentLab({ agents: [], lab: running, prefix, dir }),
  };
}
