// Instances as namespaces: one per launched instance, its ENIs up and routed
// while it runs, its processes frozen while it is stopped, the lab's minimal NAT
// bootstrap on NAT instances, and the namespace removed when it terminates.

import type { EniSync } from './eni-sync.js';
import { deleteNetns, ipBatch, killNetnsProcesses, netnsPids, nftIn, signalPids, sysctlIn } from './exec.js';
import { addNamespace } from './infra.js';
import { wantsUp, type EniMirror, type InstanceMirror, type SyncContext } from './mirror.js';
import { instanceShortNames } from './names.js';
import { bootstrapRuleset } from './nft.js';
import type { Forwarders } from './processes.js';
import { instanceRouteLines, instanceRouting, instanceRules, type InstanceIface } from './routes.js';

export interface InstanceSyncOptions {
  /** The lab's namespace name prefix. */
  prefix: string;
  /** Apply the lab's minimal NAT bootstrap to running NAT instances. */
  natBootstrap: boolean;
  eniSync: EniSync;
  forwarders: Forwarders;
}

export class InstanceSync {
  private readonly names = instanceShortNames();

  constructor(
    private readonly ctx: SyncContext,
    private readonly opts: InstanceSyncOptions,
  ) {}

  /** A namespace for each of these instances that is launched and has none yet. */
  async createNamespaces(ids: string[]): Promise<void> {
    const { store, mirror } = this.ctx;
    const todo = ids.filter((id) => {
      const inst = store.instances.get(id);
      return inst && inst.state !== 'terminated' && !mirror.instances.has(id);
    });
    await Promise.all(
      todo.map(async (id) => {
        const inst = store.instance(id);
        const ns = `${this.opts.prefix}${this.names.get(id)}`;
        await addNamespace(ns, false, this.ctx.saveState);
        mirror.instances.set(id, { id, ns, role: inst.role, linksUp: false, frozen: false, bootstrapped: false, rules: new Map() });
        this.ctx.saveState();
      }),
    );
  }

  /** Brings one instance's namespace in line with its EC2 state (or removes it once terminated). */
  async sync(id: string): Promise<void> {
    const inst = this.ctx.store.instances.get(id);
    const m = this.ctx.mirror.instances.get(id);
    if (!m) return;
    if (!inst || inst.state === 'terminated') {
      await this.remove(m);
      return;
    }
    const stateUp = inst.state === 'running' || inst.state === 'pending';
    const up = wantsUp(this.ctx, id);
    const enis = this.ctx.mirror.enisIn(id);

    // Processes: frozen while stopping/stopped/shutting-down, thawed when it starts again.
    if (!stateUp && !m.frozen) {
      signalPids(await netnsPids(m.ns), 'SIGSTOP');
      m.frozen = true;
    }
    let thawed = false;
    if (stateUp && m.frozen) {
      signalPids(await netnsPids(m.ns), 'SIGCONT');
      m.frozen = false;
      thawed = true;
    }

    const lines = this.linkLines(m, enis, up);
    if (lines.length) await ipBatch(m.ns, lines, true);
    m.linksUp = up;

    if (inst.state === 'running' && m.role === 'nat' && this.opts.natBootstrap && !m.bootstrapped) {
      await sysctlIn(m.ns, { 'net.ipv4.ip_forward': 1 });
      await nftIn(m.ns, bootstrapRuleset(this.ctx.vpcCidr));
      m.bootstrapped = true;
    }
    if (up) await this.opts.forwarders.ensure(id, thawed);
  }

  /**
   * Hard failure, now: the instance's forwarders die, its links go down and every process
   * in its namespace is SIGKILLed. Runs inside the queue; the caller holds it down.
   */
  async kill(instanceId: string, ns: string): Promise<void> {
    this.opts.forwarders.killIn(instanceId);
    const lines = this.ctx.mirror.enisIn(instanceId).map((e) => `link set dev ${e.ifname} down`);
    try {
      if (lines.length) await ipBatch(ns, lines, true);
    } finally {
      await killNetnsProcesses(ns, 1000);
      const m = this.ctx.mirror.instances.get(instanceId);
      if (m) m.linksUp = false;
    }
  }

  /** Links up or down; when up, the routes and source rules for the ENIs it has (and the old rules out). */
  private linkLines(m: InstanceMirror, enis: EniMirror[], up: boolean): string[] {
    const lines = enis.map((e) => `link set dev ${e.ifname} ${up ? 'up' : 'down'}`);
    if (!up) return lines;
    const ifaces: InstanceIface[] = enis.flatMap((e) => {
      const subnet = this.ctx.store.subnets.get(e.subnetId);
      return subnet && e.deviceIndex !== undefined
        ? [{ deviceIndex: e.deviceIndex, ifname: e.ifname, ip: e.ip, subnetCidr: subnet.cidrBlock, gatewayIp: subnet.gatewayIp }]
        : [];
    });
    const plan = instanceRouting(m.role, ifaces);
    lines.push(...instanceRouteLines(plan));
    const rules = instanceRules(plan);
    for (const [prio, spec] of m.rules) if (rules.get(prio) !== spec) lines.push(`rule del priority ${prio}`);
    for (const [prio, spec] of rules) if (m.rules.get(prio) !== spec) lines.push(`rule add priority ${prio} ${spec}`);
    m.rules = rules;
    return lines;
  }

  private async remove(m: InstanceMirror): Promise<void> {
    const { store, mirror } = this.ctx;
    // ENIs that outlive the instance go to the park before the namespace (and its veths) goes.
    const leaving = [...mirror.enis.values()].filter((e) => e.ns === m.ns);
    const survivors = leaving.filter((e) => store.networkInterfaces.get(e.id));
    if (survivors.length)
      await this.opts.eniSync.move(survivors.map((e) => ({ eni: e, ns: this.ctx.ns.park, ifname: e.plink, instanceId: undefined, deviceIndex: undefined })));
    for (const e of leaving) if (!survivors.includes(e)) await this.opts.eniSync.deleteLinks([e]);
    this.opts.forwarders.stopIn(m.id);
    mirror.instances.delete(m.id);
    mirror.heldDown.delete(m.id);
    await deleteNetns(m.ns);
    this.ctx.saveState();
  }
}
