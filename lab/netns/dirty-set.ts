// What the next reconcile pass must look at: the objects store changes touched
// since the last pass. Marks coalesce, so a burst of changes costs one pass.

import type { LabChange, LabStore } from '../emulator/store.js';

export interface DirtyObjects {
  instances: Set<string>;
  enis: Set<string>;
  routeTables: Set<string>;
  /** Subnet → route table rules. */
  rules: boolean;
  /** The igw's EIP maps. */
  addresses: boolean;
  /** The source/dest check sets. */
  sdc: boolean;
}

export class DirtySet implements DirtyObjects {
  readonly instances = new Set<string>();
  readonly enis = new Set<string>();
  readonly routeTables = new Set<string>();
  rules = false;
  addresses = false;
  sdc = false;

  /** Everything the store holds (the first pass). */
  markAll(store: LabStore): void {
    for (const i of store.instances.values()) this.instances.add(i.instanceId);
    for (const e of store.networkInterfaces.values()) this.enis.add(e.networkInterfaceId);
    for (const t of store.routeTables.values()) this.routeTables.add(t.routeTableId);
    this.rules = this.addresses = this.sdc = true;
  }

  /** Marks what a change touches; false when it has nothing in the kernel. */
  mark(c: LabChange, store: LabStore): boolean {
    switch (c.kind) {
      case 'route-table':
        this.routeTables.add(c.routeTableId);
        this.rules = true;
        return true;
      case 'instance-launched':
        this.instances.add(c.instanceId);
        for (const e of store.interfacesOf(c.instanceId)) this.enis.add(e.networkInterfaceId);
        this.sdc = true;
        return true;
      case 'instance-state':
        this.instances.add(c.instanceId);
        return true;
      case 'eni-created':
        this.enis.add(c.networkInterfaceId);
        this.sdc = true;
        return true;
      case 'eni-deleted':
        this.enis.add(c.networkInterfaceId);
        if (c.eni.attachment) this.instances.add(c.eni.attachment.instanceId);
        this.sdc = true;
        return true;
      case 'eni-attachment':
        this.enis.add(c.networkInterfaceId);
        this.instances.add(c.instanceId);
        this.sdc = true;
        return true;
      case 'source-dest-check':
        this.sdc = true;
        return true;
      case 'address':
        this.addresses = true;
        return true;
      case 'asg':
        // Nothing in the kernel: the group's instances announce their own changes.
        return false;
    }
  }

  /** Hands over the marks and clears them. */
  take(): DirtyObjects {
    const d = {
      instances: new Set(this.instances),
      enis: new Set(this.enis),
      routeTables: new Set(this.routeTables),
      rules: this.rules,
      addresses: this.addresses,
      sdc: this.sdc,
    };
    this.instances.clear();
    this.enis.clear();
    this.routeTables.clear();
    this.rules = this.addresses = this.sdc = false;
    return d;
  }

  /** Marks again what a pass covered (to retry it). */
  restore(d: DirtyObjects): void {
    for (const id of d.instances) this.instances.add(id);
    for (const id of d.enis) this.enis.add(id);
    for (const id of d.routeTables) this.routeTables.add(id);
    this.rules ||= d.rules;
    this.addresses ||= d.addresses;
    this.sdc ||= d.sdc;
  }
}
