// ENIs as veth pairs: the router end is a port of the subnet's bridge, the
// instance end lives in the attached instance's namespace as eth<device>, or
// waits in the park, down. Creates, moves and deletes them as the store changes.

import { parseCidr } from '../topology/cidr.js';
import { CommandError, ipBatch, run } from './exec.js';
import { wantsUp, type EniMirror, type InstanceMirror, type SyncContext } from './mirror.js';
import { eniParkedLink, eniRouterLink, eniShortNames } from './names.js';

/** Where one ENI's instance end goes, and what it is called and attached to there. */
export interface EniMove {
  eni: EniMirror;
  ns: string;
  ifname: string;
  instanceId: string | undefined;
  deviceIndex: number | undefined;
}

export class EniSync {
  private readonly names = eniShortNames();

  constructor(private readonly ctx: SyncContext) {}

  /**
   * Brings these ENIs (and those of the dirty instances) in line with the store; adds to
   * `touched` every instance that gained or lost an ENI.
   */
  async sync(ids: string[], dirtyInstances: Set<string>, touched: Set<string>): Promise<void> {
    const { store } = this.ctx;
    const { enis } = this.ctx.mirror;
    // Also re-place the ENIs of dirty instances (a namespace that just appeared).
    const all = new Set(ids);
    for (const e of enis.values()) if (e.instanceId && dirtyInstances.has(e.instanceId)) all.add(e.id);
    for (const id of dirtyInstances) for (const e of store.interfacesOf(id)) all.add(e.networkInterfaceId);

    // 1. Deleted ENIs lose their veth; new ones get one (instance end parked, down).
    const gone = [...all].filter((id) => !store.networkInterfaces.get(id) && enis.has(id)).map((id) => enis.get(id)!);
    for (const e of gone) if (e.instanceId) touched.add(e.instanceId);
    if (gone.length) await this.deleteLinks(gone);
    const fresh = [...all].filter((id) => store.networkInterfaces.get(id) && !enis.has(id));
    if (fresh.length) await this.createLinks(fresh);

    // 2. Moves.
    const moves: EniMove[] = [];
    for (const id of all) {
      const m = enis.get(id);
      if (!m) continue;
      const want = this.placementOf(id, m);
      if (want.ns === m.ns && want.ifname === m.ifname) continue;
      if (m.instanceId) touched.add(m.instanceId);
      if (want.instanceId) touched.add(want.instanceId);
      moves.push({ eni: m, ns: want.ns, ifname: want.ifname, instanceId: want.instanceId, deviceIndex: want.deviceIndex });
    }
    if (moves.length) await this.move(moves);
  }

  /** Removes ENIs' veths (both ends) and their bridge neighbour entries. */
  async deleteLinks(gone: EniMirror[]): Promise<void> {
    const lines: string[] = [];
    for (const e of gone) {
      lines.push(`link del ${e.rlink}`);
      const br = this.ctx.mirror.bridges.get(e.subnetId);
      if (br) lines.push(`neigh del ${e.ip} dev ${br}`);
      this.ctx.mirror.enis.delete(e.id);
    }
    await ipBatch(this.ctx.ns.router, lines, true).catch((err: unknown) => {
      // Deleting what is already gone (the namespace went first) is fine.
      if (!(err instanceof CommandError) || !/Cannot find device|No such/.test(err.result.stderr)) throw err;
    });
  }

  /**
   * Moves instance ends between namespaces, batching by namespace: one `ip -batch` per
   * source namespace (down, rename to the parked name, move), then one per target
   * (rename to eth<N>, address, up when the instance is up). The MAC travels with the link.
   */
  async move(moves: EniMove[]): Promise<void> {
    const leave = new Map<string, string[]>();
    const arrive = new Map<string, string[]>();
    for (const mv of moves) {
      const e = mv.eni;
      const out = leave.get(e.ns) ?? [];
      out.push(`link set dev ${e.ifname} down`);
      if (e.ifname !== e.plink) out.push(`link set dev ${e.ifname} name ${e.plink}`);
      out.push(`link set dev ${e.plink} netns ${mv.ns}`);
      leave.set(e.ns, out);
      const inn = arrive.get(mv.ns) ?? [];
      if (mv.ifname !== e.plink) inn.push(`link set dev ${e.plink} name ${mv.ifname}`);
      if (mv.instanceId) {
        inn.push(`addr replace ${e.ip}/${e.prefixLen} dev ${mv.ifname}`);
        if (wantsUp(this.ctx, mv.instanceId)) inn.push(`link set dev ${mv.ifname} up`);
      }
      arrive.set(mv.ns, inn);
    }
    const errors: unknown[] = [];
    await Promise.all([...leave].map(([ns, lines]) => ipBatch(ns, lines, true).catch((e: unknown) => errors.push(e))));
    await Promise.all([...arrive].map(([ns, lines]) => ipBatch(ns, lines, true).catch((e: unknown) => errors.push(e))));
    if (errors.length) {
      await this.relocate(moves.map((m) => m.eni));
      throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
    }
    for (const mv of moves) {
      mv.eni.ns = mv.ns;
      mv.eni.ifname = mv.ifname;
      mv.eni.instanceId = mv.instanceId;
      mv.eni.deviceIndex = mv.deviceIndex;
    }
  }

  /** Where an ENI's instance end belongs now: the attached instance's namespace as eth<N>, else the park. */
  private placementOf(eniId: string, m: EniMirror): { ns: string; ifname: string; instanceId?: string; deviceIndex?: number } {
    const { store } = this.ctx;
    const att = store.networkInterfaces.get(eniId)?.attachment;
    if (att?.status === 'attached') {
      const inst = store.instances.get(att.instanceId);
      const im = this.ctx.mirror.instances.get(att.instanceId);
      if (inst && inst.state !== 'terminated' && im) return { ns: im.ns, ifname: `eth${att.deviceIndex}`, instanceId: att.instanceId, deviceIndex: att.deviceIndex };
    }
    return { ns: this.ctx.ns.park, ifname: m.plink };
  }

  private async createLinks(ids: string[]): Promise<void> {
    const { store, ns } = this.ctx;
    const lines: string[] = [];
    const made: EniMirror[] = [];
    for (const id of ids) {
      const eni = store.networkInterface(id);
      const br = this.ctx.mirror.bridges.get(eni.subnetId);
      if (!br) {
        this.ctx.log({ level: 'error', event: 'dataplane.eni-without-bridge', eni: id, subnet: eni.subnetId });
        continue;
      }
      const short = this.names.get(id);
      const m: EniMirror = {
        id,
        subnetId: eni.subnetId,
        ip: eni.privateIpAddress,
        mac: eni.macAddress,
        prefixLen: parseCidr(store.subnet(eni.subnetId).cidrBlock).bits,
        rlink: eniRouterLink(short),
        plink: eniParkedLink(short),
        ns: ns.park,
        ifname: eniParkedLink(short),
      };
      lines.push(
        `link add ${m.rlink} type veth peer name ${m.plink} address ${m.mac} netns ${ns.park}`,
        `link set ${m.rlink} master ${br} up`,
        // The VPC knows every ENI's MAC: no ARP needed, and the entry stays valid as the ENI moves.
        `neigh replace ${m.ip} lladdr ${m.mac} dev ${br} nud permanent`,
      );
      made.push(m);
    }
    if (!lines.length) return;
    try {
      await ipBatch(ns.router, lines, true);
    } finally {
      // Record what the kernel now has, even when one line failed (the next pass corrects the rest).
      const links = new Set((await listLinks(ns.router)).map((l) => l.ifname));
      for (const m of made) if (links.has(m.rlink)) this.ctx.mirror.enis.set(m.id, m);
    }
  }

  /** After a failed move: find each ENI's instance end by its MAC and record where it really is. */
  private async relocate(enis: EniMirror[]): Promise<void> {
    const byMac = new Map(enis.map((e) => [e.mac.toLowerCase(), e]));
    const owners = new Map<string, InstanceMirror>([...this.ctx.mirror.instances.values()].map((m) => [m.ns, m]));
    for (const ns of [this.ctx.ns.park, ...owners.keys()]) {
      for (const l of await listLinks(ns)) {
        const e = l.address ? byMac.get(l.address.toLowerCase()) : undefined;
        if (!e) continue;
        e.ns = ns;
        e.ifname = l.ifname;
        const att = this.ctx.store.networkInterfaces.get(e.id)?.attachment;
        const owner = owners.get(ns);
        e.instanceId = owner?.id;
        e.deviceIndex = owner && att?.instanceId === owner.id ? att.deviceIndex : undefined;
      }
    }
  }
}

/** The links in a namespace (none when it cannot be listed). */
async function listLinks(ns: string): Promise<{ ifname: string; address?: string }[]> {
  const r = await run(['ip', '-j', '-n', ns, 'link', 'show'], { helper: true });
  if (r.code !== 0) return [];
  return JSON.parse(r.stdout || '[]') as { ifname: string; address?: string }[];
}
