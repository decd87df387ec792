// Lookups between instances, their ENIs and the EIPs on those ENIs, built once
// per Describe call from what Describe sees (visible()), instead of scanning
// every ENI for every instance.

import type { Address, NetworkInterface } from '../model.js';
import type { LabStore } from '../store.js';

/** The instance an ENI is attached to now (attaching, attached or detaching), if any. */
export function instanceBehind(store: LabStore, eniId: string): string | undefined {
  const att = store.networkInterfaces.get(eniId)?.attachment;
  return att && att.status !== 'detached' ? att.instanceId : undefined;
}

export class NetworkIndex {
  private readonly enisByInstance = new Map<string, NetworkInterface[]>();
  private readonly addressByEni = new Map<string, Address>();

  constructor(store: LabStore) {
    for (const eni of store.networkInterfaces.visible()) {
      const att = eni.attachment;
      if (!att || att.status === 'detached') continue;
      const list = this.enisByInstance.get(att.instanceId);
      if (list) list.push(eni);
      else this.enisByInstance.set(att.instanceId, [eni]);
    }
    for (const list of this.enisByInstance.values()) list.sort((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex);
    for (const addr of store.addresses.visible()) if (addr.networkInterfaceId) this.addressByEni.set(addr.networkInterfaceId, addr);
  }

  /** ENIs attached to the instance (attaching, attached or detaching), by device index. */
  enisOf(instanceId: string): readonly NetworkInterface[] {
    return this.enisByInstance.get(instanceId) ?? [];
  }

  primaryEniOf(instanceId: string): NetworkInterface | undefined {
    return this.enisOf(instanceId).find((e) => e.attachment!.deviceIndex === 0);
  }

  addressOf(eniId: string): Address | undefined {
    return this.addressByEni.get(eniId);
  }
}
