// What the data plane has put in the kernel, as the sync modules share it: the
// subnet bridges, the instance namespaces, where each ENI's veth is, and which
// instances are held down. Each sync step compares the store with this mirror
// and updates it once the kernel has the change.

import type { LabStore } from '../emulator/store.js';
import type { DataPlaneLog } from './dataplane-log.js';
import type { InfraNamespaces } from './names.js';

export interface EniMirror {
  id: string;
  subnetId: string;
  ip: string;
  mac: string;
  prefixLen: number;
  /** Router end (bridge port) and the instance end's name while parked. */
  rlink: string;
  plink: string;
  /** Where the instance end is now and what it is called there. */
  ns: string;
  ifname: string;
  instanceId?: string;
  deviceIndex?: number;
}

export interface InstanceMirror {
  id: string;
  ns: string;
  role: 'nat' | 'app';
  linksUp: boolean;
  frozen: boolean;
  bootstrapped: boolean;
  /** Source rules we added: priority → "from <ip> lookup <table>". */
  rules: Map<number, string>;
}

export class KernelMirror {
  /** Subnet id → its bridge in the router namespace. */
  readonly bridges = new Map<string, string>();
  readonly instances = new Map<string, InstanceMirror>();
  readonly enis = new Map<string, EniMirror>();
  /** Instances whose links stay down whatever their EC2 state (hard-killed). */
  readonly heldDown = new Set<string>();

  /** The ENIs now in the instance's namespace, by device index. */
  enisIn(instanceId: string): EniMirror[] {
    const m = this.instances.get(instanceId);
    if (!m) return [];
    return [...this.enis.values()].filter((e) => e.ns === m.ns).sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
  }
}

/** What every sync module works with: the store (desired), the mirror (applied), and where things live. */
export interface SyncContext {
  readonly store: LabStore;
  readonly ns: InfraNamespaces;
  readonly vpcCidr: string;
  readonly mirror: KernelMirror;
  readonly log: DataPlaneLog;
  /** Records the lab's namespaces in the state file (crash recovery); call after adding or removing one. */
  readonly saveState: () => void;
}

/** Links up when the instance is pending/running (and not held down by a kill). */
export function wantsUp(ctx: SyncContext, instanceId: string): boolean {
  const s = ctx.store.instances.get(instanceId)?.state;
  return (s === 'running' || s === 'pending') && !ctx.mirror.heldDown.has(instanceId);
}
