// The lab's state as one JSON document: what `natkeeper lab status` prints.
import type { LabStore } from './emulator/store.js';
import type { Tag } from './emulator/model.js';
import type { DataPlane } from './netns/dataplane.js';
import type { LabManifest } from './topology/build.js';

const nameOf = (tags: Tag[]) => tags.find((t) => t.key === 'Name')?.value;

export interface InstanceStatus {
  instanceId: string;
  name: string | undefined;
  role: string;
  zone: string;
  state: string;
  autoScalingGroupName: string | undefined;
  interfaces: { networkInterfaceId: string; deviceIndex: number; status: string; privateIp: string; publicIp: string | undefined }[];
  namespace: string | undefined;
}

export interface RouteTableStatus {
  routeTableId: string;
  name: string | undefined;
  subnets: string[];
  defaultRoute: { target: string; state: string } | undefined;
}

export function describeLab(store: LabStore, manifest: LabManifest, dataPlane: DataPlane | undefined, dataPlaneNote: string | undefined) {
  const publicIpOf = (eniId: string) => store.addresses.values().find((a) => a.networkInterfaceId === eniId)?.publicIp;
  const instances: InstanceStatus[] = store.instances.values().map((i) => ({
    instanceId: i.instanceId,
    name: nameOf(i.tags),
    role: i.role,
    zone: i.availabilityZone,
    state: i.state,
    autoScalingGroupName: i.autoScalingGroupName,
    interfaces: store.interfacesOf(i.instanceId).map((e) => ({
      networkInterfaceId: e.networkInterfaceId,
      deviceIndex: e.attachment!.deviceIndex,
      status: e.attachment!.status,
      privateIp: e.privateIpAddress,
      publicIp: publicIpOf(e.networkInterfaceId),
    })),
    namespace: dataPlane?.nsOf(i.instanceId),
  }));
  const routeTables: RouteTableStatus[] = store.routeTables.values().map((t) => {
    const def = t.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0');
    return {
      routeTableId: t.routeTableId,
      name: nameOf(t.tags),
      subnets: t.associations.flatMap((a) => (a.subnetId ? [a.subnetId] : [])),
      defaultRoute: def
        ? { target: def.networkInterfaceId ?? def.instanceId ?? def.gatewayId ?? def.natGatewayId ?? '?', state: store.routeState(def) }
        : undefined,
    };
  });
  const floating = manifest.zones.flatMap((z) => {
    if (!z.floatingEniId) return [];
    const eni = store.networkInterfaces.get(z.floatingEniId);
    return [
      {
        zone: z.name,
        networkInterfaceId: z.floatingEniId,
        allocationId: z.floatingAllocationId,
        publicIp: publicIpOf(z.floatingEniId),
        privateIp: eni?.privateIpAddress,
        attachedTo: eni?.attachment?.instanceId,
        attachmentStatus: eni?.attachment?.status ?? 'detached',
      },
    ];
  });
  return {
    manifest,
    dataPlane: { on: Boolean(dataPlane), note: dataPlaneNote, routerNamespace: dataPlane?.routerNs },
    instances,
    routeTables,
    floatingEnis: floating,
    autoScalingGroups: [...store.autoScalingGroups.values()].map((g) => ({
      name: g.autoScalingGroupName,
      desired: g.desiredCapacity,
      instances: g.instances.map((m) => ({ instanceId: m.instanceId, lifecycleState: m.lifecycleState, health: m.healthStatus })),
    })),
  };
}

export type LabStatus = ReturnType<typeof describeLab>;
