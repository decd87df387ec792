// The VPC's edge, in nftables: the internet gateway's EIP ↔ private address maps
// (stateless 1:1 translation), and the router's sets of bridge ports whose ENI has
// the source/dest check on. Each is updated from the store and skipped when unchanged.

import { nftIn } from './exec.js';
import type { SyncContext } from './mirror.js';
import { igwMapUpdate, igwRuleset, sdcSetsUpdate } from './nft.js';

export class EdgeSync {
  /** Public IP → private IP, as the igw's maps hold it (empty as infra builds them). */
  private igwApplied = new Map<string, string>();
  /** The last source/dest check script loaded on the router. */
  private sdcApplied: string | undefined;

  constructor(private readonly ctx: SyncContext) {}

  async syncIgw(): Promise<void> {
    const desired = new Map<string, string>();
    for (const a of this.ctx.store.addresses.values()) if (a.privateIpAddress) desired.set(a.publicIp, a.privateIpAddress);
    const script = igwMapUpdate(this.igwApplied, desired);
    if (!script) return;
    try {
      await nftIn(this.ctx.ns.igw, script);
    } catch (e) {
      // Element-level update failed (the maps drifted): reload the whole table.
      this.ctx.log({ level: 'warn', event: 'dataplane.igw-reload', error: String(e) });
      await nftIn(this.ctx.ns.igw, igwRuleset(this.ctx.vpcCidr, desired));
    }
    this.igwApplied = desired;
  }

  async syncSourceDestCheck(): Promise<void> {
    const checked: { port: string; ip: string }[] = [];
    for (const m of this.ctx.mirror.enis.values()) {
      const eni = this.ctx.store.networkInterfaces.get(m.id);
      if (eni?.sourceDestCheck) checked.push({ port: m.rlink, ip: m.ip });
    }
    checked.sort((a, b) => a.port.localeCompare(b.port));
    const script = sdcSetsUpdate(checked);
    if (script === this.sdcApplied) return;
    await nftIn(this.ctx.ns.router, script);
    this.sdcApplied = script;
  }
}
