// Reading the observed VPC: which node a route table's egress goes through, and which
// nodes may carry egress. Pure helpers for plan.ts.
import type { NodeId, Timestamp } from '../signals.js';
import type { NodeHealth, ObservedNode, ObservedRouteTable, ObservedVpc, RouteTarget } from './types.js';

/** Where a table's egress goes: a NAT node, a NAT Gateway, or nowhere. */
export type Via = { kind: 'node'; node: NodeId } | { kind: 'nat-gateway'; id: string } | { kind: 'none'; why: string };

export interface VpcIndex {
  node(id: NodeId): ObservedNode | undefined;
  /** The route target's egress. */
  via(target: RouteTarget): Via;
  /** The zone's floating ENI id, if the zone has one. */
  floatingEniOf(zone: string): string | undefined;
  /** The targets a route may ever point to: floating ENIs, NAT primary ENIs, fallback NAT Gateways. */
  allowedTarget(target: RouteTarget): boolean;
}

export function indexVpc(vpc: ObservedVpc): VpcIndex {
  const nodes = new Map(vpc.nodes.map((n) => [n.id, n]));
  const byPrimaryEni = new Map(vpc.nodes.map((n) => [n.primaryEniId, n.id]));
  const floating = new Map(vpc.zones.flatMap((z) => (z.floatingEni ? [[z.floatingEni.eniId, z.floatingEni] as const] : [])));
  const gateways = new Set(vpc.zones.flatMap((z) => (z.fallbackNatGatewayId ? [z.fallbackNatGatewayId] : [])));
  return {
    node: (id) => nodes.get(id),
    via(t) {
      if (t.kind === 'nat-gateway') return { kind: 'nat-gateway', id: t.id };
      if (t.kind === 'instance') return nodes.has(t.id) ? { kind: 'node', node: t.id } : { kind: 'none', why: `instance ${t.id} is not a NAT node` };
      if (t.kind === 'eni') {
        const f = floating.get(t.id);
        if (f) return f.attachedTo ? { kind: 'node', node: f.attachedTo } : { kind: 'none', why: `floating ENI ${t.id} is not attached` };
        const n = byPrimaryEni.get(t.id);
        return n ? { kind: 'node', node: n } : { kind: 'none', why: `ENI ${t.id} is not a NAT's` };
      }
      return { kind: 'none', why: t.kind === 'none' ? 'no default route' : `default route to ${t.id}` };
    },
    floatingEniOf: (zone) => vpc.zones.find((z) => z.name === zone)?.floatingEni?.eniId,
    allowedTarget(t) {
      if (t.kind === 'eni') return floating.has(t.id) || byPrimaryEni.has(t.id);
      if (t.kind === 'nat-gateway') return gateways.has(t.id);
      return false;
    },
  };
}

/**
 * Where a table's egress goes. EC2's `blackhole` is derived and eventually consistent (it
 * can lag an attach or an attribute change): when the target resolves to a NAT node, that
 * node's own state and verdict decide; a blackhole only counts for targets that resolve
 * to nothing.
 */
export function tableVia(idx: VpcIndex, t: ObservedRouteTable): Via {
  const v = idx.via(t.target);
  return t.blackhole && v.kind !== 'node' ? { kind: 'none', why: `route in ${t.id} is a blackhole (${v.kind === 'none' ? v.why : v.id})` } : v;
}

export type NodeCondition = 'usable' | 'failed' | 'leaving' | 'doubtful';

/**
 * usable: running, verdict healthy, no handover notice — may carry egress.
 * failed: not running (or gone), or verdict unhealthy — egress must move away.
 * leaving: a planned handover notice — egress moves away when somewhere usable exists.
 * doubtful: running but unknown / internet-unreachable — not blamed, not chosen.
 */
export function conditionOf(node: ObservedNode | undefined, health: NodeHealth | undefined): NodeCondition {
  if (!node || node.state !== 'running') return 'failed';
  if (health?.state === 'unhealthy') return 'failed';
  if (node.handover) return 'leaving';
  return health?.state === 'healthy' ? 'usable' : 'doubtful';
}

/** Healthy without a break for at least `ms` at `now`. */
export function stableFor(health: NodeHealth | undefined, now: Timestamp, ms: number): boolean {
  return health?.state === 'healthy' && health.healthySince !== undefined && now - health.healthySince >= ms;
}

export const sameTarget = (a: RouteTarget, b: RouteTarget) => a.kind === b.kind && (a.kind === 'none' || (b.kind !== 'none' && a.id === b.id));

export function tablesOf(vpc: ObservedVpc, zone: string): ObservedRouteTable[] {
  return vpc.routeTables.filter((t) => t.zone === zone).sort((a, b) => a.id.localeCompare(b.id));
}
