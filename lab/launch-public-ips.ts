// A NAT launched by an Auto Scaling group gets a public address, as a launch
// template with "associate public IP" would give it. The lab has no auto-assigned
// public IPs, so it allocates an EIP from its pool, and returns it to the pool
// when the instance is terminated, so long chaos sessions never run the pool dry.
import type { LabStore } from './emulator/store.js';
import { tag, type EipPool } from './topology/build.js';

const FOR_INSTANCE = 'natkeeper-lab:public-ip-for';

export function givePublicIp(store: LabStore, eips: EipPool, instanceId: string): void {
  if (store.instance(instanceId).role !== 'nat') return;
  const eni = store.primaryInterface(instanceId);
  if (!eni) return;
  const eip = store.allocateAddress(eips.take(), [tag('Name', `public IP of ${instanceId}`), tag(FOR_INSTANCE, instanceId)]);
  store.associateAddress(eip.allocationId, eni.networkInterfaceId, false);
}

/** Returns launch-time addresses to the pool once their instance is terminated. */
export function reclaimPublicIps(store: LabStore, eips: EipPool): () => void {
  return store.onChange((change) => {
    if (change.kind !== 'instance-state' || change.to !== 'terminated') return;
    for (const addr of store.addresses.values()) {
      if (addr.associationId || !addr.tags.some((t) => t.key === FOR_INSTANCE && t.value === change.instanceId)) continue;
      store.releaseAddress(addr.allocationId);
      eips.give(addr.publicIp);
    }
  });
}
