// What the kernel should hold, computed from the emulated state: the router's
// policy-routing tables (one per emulated route table) and the routing inside an
// instance (ec2-net-utils style). Pure: the data plane diffs these against what it
// applied last and sends only the difference to the kernel.

import type { Instance, NetworkInterface, Route, RouteTable } from '../emulator/model.js';
import { parseCidr, intToIp } from '../topology/cidr.js';
import { INFRA_LINKS, INSTANCE_RULE_BASE, INSTANCE_TABLE_BASE } from './names.js';

export type KernelRoute =
  | { dst: string; type: 'unicast'; via: string; dev: string }
  | { dst: string; type: 'blackhole' };

/** The shape of LabStore.routeNextHop, so tests can pass a stub. */
export type NextHop =
  | { kind: 'local' }
  | { kind: 'igw' }
  | { kind: 'eni'; eni: NetworkInterface; instance: Instance }
  | { kind: 'blackhole' };

/** Normalises a CIDR ("10.0.0.5/24" → "10.0.0.0/24"), as the kernel stores it. */
export function normaliseCidr(cidr: string): string {
  const { base, bits } = parseCidr(cidr);
  return `${intToIp(base)}/${bits}`;
}

/**
 * The kernel routes for one emulated route table. The local route is left out
 * (a higher-priority `to <VPC CIDR> lookup main` rule plays its part); an ENI
 * target becomes `via <ENI IP> dev <bridge of the ENI's subnet>`; anything
 * routeNextHop calls blackhole becomes a kernel `blackhole` route.
 */
export function desiredRouterRoutes(
  table: Pick<RouteTable, 'routes'>,
  nextHop: (route: Route) => NextHop,
  bridgeOf: (subnetId: string) => string | undefined,
): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (const route of table.routes) {
    const dst = normaliseCidr(route.destinationCidrBlock);
    const hop = nextHop(route);
    switch (hop.kind) {
      case 'local':
        break;
      case 'igw':
        out.push({ dst, type: 'unicast', via: INFRA_LINKS.routerToIgw.igwIp, dev: INFRA_LINKS.routerToIgw.router });
        break;
      case 'eni': {
        const dev = bridgeOf(hop.eni.subnetId);
        out.push(dev ? { dst, type: 'unicast', via: hop.eni.privateIpAddress, dev } : { dst, type: 'blackhole' });
        break;
      }
      case 'blackhole':
        out.push({ dst, type: 'blackhole' });
        break;
    }
  }
  return out;
}

/** `ip -batch` line that makes the kernel hold this route in `table`. */
export function routeReplaceLine(r: KernelRoute, table: number): string {
  return r.type === 'blackhole'
    ? `route replace blackhole ${r.dst} table ${table}`
    : `route replace ${r.dst} via ${r.via} dev ${r.dev} onlink table ${table}`;
}

export function sameRoute(a: KernelRoute | undefined, b: KernelRoute | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.type !== b.type || a.dst !== b.dst) return false;
  return a.type === 'blackhole' || (b.type === 'unicast' && a.via === b.via && a.dev === b.dev);
}

/** Lines turning the `applied` routes of a table into `desired`: replacements first, then deletions. */
export function routeDiffLines(applied: ReadonlyMap<string, KernelRoute>, desired: readonly KernelRoute[], table: number): string[] {
  const lines: string[] = [];
  const want = new Map(desired.map((r) => [r.dst, r]));
  for (const r of want.values()) if (!sameRoute(applied.get(r.dst), r)) lines.push(routeReplaceLine(r, table));
  for (const dst of applied.keys()) if (!want.has(dst)) lines.push(`route del ${dst} table ${table}`);
  return lines;
}

// ---- inside an instance -------------------------------------------------------

export interface InstanceIface {
  deviceIndex: number;
  ifname: string;
  ip: string;
  /** The subnet's CIDR. */
  subnetCidr: string;
  gatewayIp: string;
}

export interface InstanceRoutingPlan {
  /** The main table's default route. */
  defaultRoute?: { via: string; dev: string };
  /** ec2-net-utils style: `from <ip> lookup <table>`, the table routing via that device. */
  sourceTables: { table: number; priority: number; from: string; dev: string; subnetCidr: string; via: string }[];
}

/**
 * Routing inside an instance, as Amazon Linux's ec2-net-utils (plus, for NAT
 * instances, the lab's NAT bootstrap) would set it up: eth0 carries the default
 * route of an app instance; a NAT instance sends its default route out of its
 * highest attached device, so egress through a floating ENI carries that ENI's EIP.
 * Every device gets a source table so replies leave by the device they came in on.
 */
export function instanceRouting(role: Instance['role'], ifaces: readonly InstanceIface[]): InstanceRoutingPlan {
  const sorted = [...ifaces].sort((a, b) => a.deviceIndex - b.deviceIndex);
  const egress = role === 'nat' ? sorted[sorted.length - 1] : sorted.find((i) => i.deviceIndex === 0);
  return {
    ...(egress ? { defaultRoute: { via: egress.gatewayIp, dev: egress.ifname } } : {}),
    sourceTables: sorted.map((i) => ({
      table: INSTANCE_TABLE_BASE + i.deviceIndex,
      priority: INSTANCE_RULE_BASE + i.deviceIndex,
      from: i.ip,
      dev: i.ifname,
      subnetCidr: normaliseCidr(i.subnetCidr),
      via: i.gatewayIp,
    })),
  };
}

/** Route lines (idempotent `replace`s) for a plan; rules are handled by the caller, which knows what it added. */
export function instanceRouteLines(plan: InstanceRoutingPlan): string[] {
  const lines: string[] = [];
  for (const t of plan.sourceTables) {
    lines.push(`route replace ${t.subnetCidr} dev ${t.dev} src ${t.from} table ${t.table}`);
    lines.push(`route replace default via ${t.via} dev ${t.dev} table ${t.table}`);
  }
  if (plan.defaultRoute) lines.push(`route replace default via ${plan.defaultRoute.via} dev ${plan.defaultRoute.dev}`);
  return lines;
}

/** The rules a plan needs, keyed by priority ("from <ip> lookup <table>"). */
export function instanceRules(plan: InstanceRoutingPlan): Map<number, string> {
  return new Map(plan.sourceTables.map((t) => [t.priority, `from ${t.from} lookup ${t.table}`]));
}
