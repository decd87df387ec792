// The lab's infrastructure namespaces, the veths between them and the subnet
// bridges; and tearing a lab's namespaces down.
//
//   <p>router  one bridge per subnet (gateway address on it), policy routing per
//              emulated route table, source/dest check and faults in nftables (bridge family)
//   <p>igw     stateless 1:1 EIP translation (nftables maps)
//   <p>inet    the internet: echo targets and one echo server process
//   <p>park    where detached ENIs wait, down
//   <p><hex>   one per instance (instance-sync.ts); ENIs are veth pairs, the instance end named eth<device>

import { parseCidr } from '../topology/cidr.js';
import type { Topology } from '../topology/schema.js';
import { CommandError, deleteNetns, ip, ipBatch, listNetns, nftIn, run, sysctlIn } from './exec.js';
import type { SyncContext } from './mirror.js';
import { INFRA_LINKS, LOCAL_RULE_PRIORITY, bridgeMac, checkPrefix, infraNamespaces, subnetBridge, subnetShortNames } from './names.js';
import { faultsRuleset, igwRuleset, sdcRuleset, targetsRuleset } from './nft.js';

export class Infra {
  private readonly subnetNames = subnetShortNames();

  constructor(
    private readonly ctx: SyncContext,
    private readonly internet: Topology['internet'],
  ) {}

  /**
   * Creates the infrastructure namespaces and links them: router ↔ igw ↔ inet. The igw
   * routes only the VPC and the echo targets; inet routes only the EIP pool back.
   */
  async build(): Promise<void> {
    const { ctx, internet } = this;
    const { router, igw, inet, park } = ctx.ns;
    await Promise.all([router, igw, inet, park].map((n) => addNamespace(n, n === router || n === igw, ctx.saveState)));
    const L = INFRA_LINKS;
    await ipBatch(router, [
      `link add ${L.routerToIgw.router} type veth peer name ${L.routerToIgw.igw} netns ${igw}`,
      `addr add ${L.routerToIgw.routerIp}/30 dev ${L.routerToIgw.router}`,
      `link set ${L.routerToIgw.router} up`,
      // The VPC's "local" route: VPC destinations use the connected routes of main, before any subnet's table.
      `rule add priority ${LOCAL_RULE_PRIORITY} to ${ctx.vpcCidr} lookup main`,
    ]);
    await ipBatch(igw, [
      `link add ${L.igwToInet.igw} type veth peer name ${L.igwToInet.inet} netns ${inet}`,
      `addr add ${L.routerToIgw.igwIp}/30 dev ${L.routerToIgw.igw}`,
      `addr add ${L.igwToInet.igwIp}/30 dev ${L.igwToInet.igw}`,
      `link set ${L.routerToIgw.igw} up`,
      `link set ${L.igwToInet.igw} up`,
      `route add ${ctx.vpcCidr} via ${L.routerToIgw.routerIp} dev ${L.routerToIgw.igw}`,
      // Only the echo targets are "the internet": the igw has no default route.
      ...internet.echoTargets.map((t) => `route add ${t}/32 via ${L.igwToInet.inetIp} dev ${L.igwToInet.igw}`),
    ]);
    await ipBatch(inet, [
      `addr add ${L.igwToInet.inetIp}/30 dev ${L.igwToInet.inet}`,
      `link set ${L.igwToInet.inet} up`,
      ...internet.echoTargets.map((t) => `addr add ${t}/32 dev lo`),
      `route add ${internet.eipPool} via ${L.igwToInet.igwIp} dev ${L.igwToInet.inet}`,
    ]);
    await Promise.all([
      // Empty EIP maps: the edge sync fills them (see edge-sync.ts).
      nftIn(igw, igwRuleset(ctx.vpcCidr, new Map())),
      nftIn(router, sdcRuleset() + faultsRuleset({ partitions: [], loss: [] })),
      nftIn(inet, targetsRuleset()),
    ]);
  }

  /** One bridge per subnet in the router namespace, the subnet's gateway address on it. */
  async ensureBridges(): Promise<void> {
    const { ctx, subnetNames } = this;
    const { bridges } = ctx.mirror;
    const lines: string[] = [];
    const added: [string, string][] = [];
    for (const s of ctx.store.subnets.values()) {
      if (bridges.has(s.subnetId)) continue;
      const br = subnetBridge(subnetNames.get(s.subnetId));
      const bits = parseCidr(s.cidrBlock).bits;
      lines.push(
        `link add ${br} address ${bridgeMac(s.subnetId)} type bridge`,
        `addr add ${s.gatewayIp}/${bits} dev ${br}`,
        `link set ${br} up`,
      );
      added.push([s.subnetId, br]);
    }
    if (!lines.length) return;
    await ipBatch(ctx.ns.router, lines);
    for (const [id, br] of added) bridges.set(id, br);
  }
}

/** A namespace with lo up, rp_filter off, no IPv6 chatter; forwarding on for routers. */
export async function addNamespace(ns: string, forwarding: boolean, saveState: () => void): Promise<void> {
  await runCheckedIp(['netns', 'add', ns]);
  saveState();
  await sysctlIn(ns, {
    'net.ipv4.ip_forward': forwarding ? 1 : 0,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
    // Two ENIs of one instance share a bridge: each answers ARP only for its own address.
    'net.ipv4.conf.all.arp_ignore': 1,
    'net.ipv4.conf.all.arp_announce': 2,
    'net.ipv6.conf.all.disable_ipv6': 1,
    'net.ipv6.conf.default.disable_ipv6': 1,
  });
  await ip(ns, 'link', 'set', 'lo', 'up');
}

/** Refuses a prefix some namespace already has (another lab's, or a crashed one's). */
export async function assertPrefixFree(prefix: string): Promise<void> {
  const clash = (await listNetns()).filter((n) => n.startsWith(prefix));
  if (clash.length)
    throw new Error(`network namespaces with prefix "${prefix}" already exist (${clash.join(', ')}): another lab uses it, or a crashed one left them; remove them with \`natkeeper lab down --prefix ${prefix}\` (or teardownLab("${prefix}"))`);
}

/**
 * Removes every network namespace whose name starts with `prefix`, killing their
 * processes first (crash recovery: a lab that died without tearing down).
 */
export async function teardownLab(prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const mine = (await listNetns()).filter((n) => n.startsWith(prefix));
  const infra = new Set(Object.values(infraNamespaces(prefix)));
  // Instances and the park first (their veths die with them), then igw/inet, the router last.
  const order = (n: string) => (n === `${prefix}router` ? 3 : infra.has(n) ? (n === `${prefix}park` ? 1 : 2) : 0);
  for (const rank of [0, 1, 2, 3]) await Promise.all(mine.filter((n) => order(n) === rank).map((n) => deleteNetns(n)));
  return mine;
}

async function runCheckedIp(args: string[]): Promise<void> {
  const r = await run(['ip', ...args]);
  if (r.code !== 0) throw new CommandError(['ip', ...args], r);
}
