// The router namespace's policy routing: one kernel table per emulated route
// table (its routes diffed against what was applied last), and one rule per
// subnet sending traffic from the subnet's bridge to its route table's kernel table.

import type { LabStore } from '../emulator/store.js';
import { ipBatch } from './exec.js';
import type { SyncContext } from './mirror.js';
import { ROUTER_TABLE_BASE, SUBNET_RULE_BASE } from './names.js';
import { desiredRouterRoutes, routeDiffLines, type KernelRoute } from './routes.js';

interface KernelTable {
  table: number;
  routes: Map<string, KernelRoute>;
  /** A batch touching it failed: flush and rebuild it on the next sync. */
  stale: boolean;
}

export class RouterSync {
  private readonly tables = new Map<string, KernelTable>();
  private nextTable = ROUTER_TABLE_BASE;
  private readonly subnetRules = new Map<string, { priority: number; table: number }>();
  private readonly subnetSlots = new Map<string, number>();

  /** `redo` marks a route table for another sync after a failed batch. */
  constructor(
    private readonly ctx: SyncContext,
    private readonly redo: (routeTableId: string) => void,
  ) {}

  /** The kernel table number mirroring an emulated route table. */
  kernelTableOf(routeTableId: string): number | undefined {
    return this.tables.get(routeTableId)?.table;
  }

  async syncRouteTables(ids: string[]): Promise<void> {
    const { store } = this.ctx;
    const { bridges } = this.ctx.mirror;
    const lines: string[] = [];
    const commits: (() => void)[] = [];
    for (const id of ids) {
      const rt = store.routeTables.get(id);
      const entry = this.tables.get(id);
      if (!rt) {
        if (entry) {
          lines.push(`route flush table ${entry.table}`);
          commits.push(() => this.tables.delete(id));
        }
        continue;
      }
      const t = entry ?? this.tableOf(id);
      const desired = desiredRouterRoutes(rt, (r) => store.routeNextHop(r), (s) => bridges.get(s));
      if (t.stale) lines.push(`route flush table ${t.table}`);
      lines.push(...routeDiffLines(t.stale ? new Map() : t.routes, desired, t.table));
      commits.push(() => {
        t.routes = new Map(desired.map((r) => [r.dst, r]));
        t.stale = false;
      });
    }
    if (!lines.length) {
      for (const c of commits) c();
      return;
    }
    try {
      await ipBatch(this.ctx.ns.router, lines, true);
      for (const c of commits) c();
    } catch (e) {
      // Some line failed: rebuild these tables from scratch next time.
      for (const id of ids) {
        const t = this.tables.get(id);
        if (t) t.stale = true;
        this.redo(id);
      }
      throw e;
    }
  }

  async syncSubnetRules(): Promise<void> {
    const { store } = this.ctx;
    const adds: string[] = [];
    const dels: string[] = [];
    const commits: (() => void)[] = [];
    const newTables: string[] = [];
    for (const s of store.subnets.values()) {
      const br = this.ctx.mirror.bridges.get(s.subnetId);
      if (!br) continue;
      const rt = store.effectiveRouteTable(s.subnetId);
      const cur = this.subnetRules.get(s.subnetId);
      if (rt && !this.tables.has(rt.routeTableId)) newTables.push(rt.routeTableId);
      const table = rt ? this.tableOf(rt.routeTableId).table : undefined;
      if (cur?.table === table) continue;
      let slot = this.subnetSlots.get(s.subnetId);
      if (slot === undefined) {
        slot = this.subnetSlots.size;
        this.subnetSlots.set(s.subnetId, slot);
      }
      const base = SUBNET_RULE_BASE + 2 * slot;
      const priority = cur?.priority === base ? base + 1 : base;
      // The new rule goes in before the old one leaves: no moment without a rule.
      if (table !== undefined) adds.push(`rule add priority ${priority} iif ${br} lookup ${table}`);
      if (cur) dels.push(`rule del priority ${cur.priority}`);
      commits.push(() => {
        if (table === undefined) this.subnetRules.delete(s.subnetId);
        else this.subnetRules.set(s.subnetId, { priority, table });
      });
    }
    if (newTables.length) await this.syncRouteTables(newTables);
    if (!adds.length && !dels.length) return;
    await ipBatch(this.ctx.ns.router, [...adds, ...dels], true).finally(() => {
      for (const c of commits) c();
    });
  }

  private tableOf(routeTableId: string): KernelTable {
    let t = this.tables.get(routeTableId);
    if (!t) {
      t = { table: this.nextTable++, routes: new Map(), stale: false };
      this.tables.set(routeTableId, t);
    }
    return t;
  }
}

/**
 * Splits dirty route tables into those to sync before ENI placement (early) and after it
 * (late): a table that makes an ENI the next hop while this pass still places or configures
 * that ENI (an ENI move, an instance starting) waits until the instance has the ENI up and
 * routed, so no packet reaches an instance that would send it out the wrong way (wrong EIP).
 */
export function splitRouteTables(store: LabStore, dirty: { routeTables: Set<string>; enis: Set<string>; instances: Set<string> }): { early: string[]; late: string[] } {
  const placing = new Set(dirty.enis);
  for (const id of dirty.instances) for (const e of store.interfacesOf(id)) placing.add(e.networkInterfaceId);
  const early: string[] = [];
  const late: string[] = [];
  for (const id of dirty.routeTables) (routesThrough(store, id, placing) ? late : early).push(id);
  return { early, late };
}

/** Whether a route table sends traffic to one of these ENIs now. */
function routesThrough(store: LabStore, routeTableId: string, enis: ReadonlySet<string>): boolean {
  if (!enis.size) return false;
  const rt = store.routeTables.get(routeTableId);
  if (!rt) return false;
  return rt.routes.some((r) => {
    const hop = store.routeNextHop(r);
    return hop.kind === 'eni' && enis.has(hop.eni.networkInterfaceId);
  });
}
