// The planner: (observed VPC, node health, transition history, policy, now) → plan.
// Pure and deterministic; table-driven tests in test/unit/planner.test.ts.
//
// Per zone, when its egress goes through a failed node (or one announcing a handover),
// the cheapest safe strategy wins:
//   1. eni-move          the zone's floating ENI to a usable standby in the zone: 1-2 calls
//                        whatever the number of route tables; the EIP moves with it.
//   2. route-replace     the zone's tables to a usable standby in the zone (no floating ENI).
//   3. association-swap  (when enabled) the zone's subnets onto a healthy zone's table.
//   4. route-replace     cross-zone: to a usable NAT of another zone (its floating ENI when
//                        it carries one, so the route follows that zone's own failovers).
//   5. nat-gateway       the zone's configured NAT Gateway, last resort.
// Failback to a zone-local NAT happens only after it stayed healthy for failbackAfterMs,
// and only while the zone made fewer than maxTransitions transitions in the window.
// Failovers away from a failed node are never held by that limit: a zone without egress
// is worse than a flap. Zones with no working egress come first in the plan.
// Routes only ever point to a configured target (a floating ENI, a NAT's primary ENI, a
// configured NAT Gateway); plan() throws on anything else, which would be a bug.
import type { NodeId, Timestamp } from '../signals.js';
import { conditionOf, indexVpc, sameTarget, stableFor, tableVia, tablesOf, type NodeCondition, type Via, type VpcIndex } from './egress.js';
import type {
  Action,
  NodeHealth,
  ObservedNode,
  ObservedRouteTable,
  ObservedVpc,
  ObservedZone,
  Plan,
  PlannerPolicy,
  RouteTarget,
  Strategy,
  TransitionRecord,
  ZoneDecision,
} from './types.js';

export interface PlanInput {
  vpc: ObservedVpc;
  health: ReadonlyMap<NodeId, NodeHealth>;
  history: readonly TransitionRecord[];
  policy: PlannerPolicy;
  now: Timestamp;
  /** Zone → the one node an operator named (`natkeeper failover --to`): no other is chosen for that zone. */
  onlyVia?: ReadonlyMap<string, NodeId>;
}

interface Choice {
  strategy: Strategy;
  via: string;
  actions: Action[];
}

export function plan(input: PlanInput): Plan {
  const { vpc, policy, now } = input;
  const idx = indexVpc(vpc);
  const condition = (via: Via): NodeCondition => (via.kind === 'node' ? conditionOf(idx.node(via.node), input.health.get(via.node)) : via.kind === 'nat-gateway' ? 'usable' : 'failed');
  // How many zones each node serves, updated as decisions are made, to spread cross-zone load.
  const load = new Map<NodeId, number>();
  const viaOf = (t: ObservedRouteTable): Via => tableVia(idx, t);
  for (const t of vpc.routeTables) {
    const v = viaOf(t);
    if (v.kind === 'node') load.set(v.node, (load.get(v.node) ?? 0) + 1);
  }

  const usable = (n: ObservedNode) => conditionOf(n, input.health.get(n.id)) === 'usable';
  const byPreference = (zone: ObservedZone) => (a: ObservedNode, b: ObservedNode) => {
    // The node already carrying the floating ENI first (no move needed), then by id.
    const carries = (n: ObservedNode) => (zone.floatingEni?.attachedTo === n.id ? 0 : 1);
    return carries(a) - carries(b) || a.id.localeCompare(b.id);
  };

  /** Egress through a zone-local node: eni-move when the zone has a floating ENI, else route-replace. */
  function local(zone: ObservedZone, tables: ObservedRouteTable[], node: ObservedNode): Choice {
    const actions: Action[] = [];
    const f = zone.floatingEni;
    if (f) {
      if (f.attachedTo !== node.id) {
        if (f.attachedTo && f.attachmentId) actions.push({ kind: 'detach-eni', zone: zone.name, eniId: f.eniId, attachmentId: f.attachmentId, from: f.attachedTo });
        actions.push({ kind: 'attach-eni', zone: zone.name, eniId: f.eniId, to: node.id, deviceIndex: f.deviceIndex });
      }
      actions.push(...routesTo(zone.name, tables, { kind: 'eni', id: f.eniId }));
      return { strategy: 'eni-move', via: node.id, actions };
    }
    return { strategy: 'route-replace', via: node.id, actions: routesTo(zone.name, tables, { kind: 'eni', id: node.primaryEniId }) };
  }

  const named = (zone: ObservedZone, n: ObservedNode) => {
    const only = input.onlyVia?.get(zone.name);
    return only === undefined || only === n.id;
  };

  function elsewhere(zone: ObservedZone, tables: ObservedRouteTable[], avoid: ReadonlySet<NodeId>): Choice | undefined {
    const remote = vpc.nodes.filter((n) => n.zone !== zone.name && !avoid.has(n.id) && usable(n) && named(zone, n));
    if (policy.associationSwap) {
      const swap = associationSwap(zone, tables, remote);
      if (swap) return swap;
    }
    remote.sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || a.zone.localeCompare(b.zone) || a.id.localeCompare(b.id));
    const pick = remote[0];
    if (pick) {
      const theirs = vpc.zones.find((z) => z.name === pick.zone)?.floatingEni;
      const target: RouteTarget = theirs?.attachedTo === pick.id ? { kind: 'eni', id: theirs.eniId } : { kind: 'eni', id: pick.primaryEniId };
      return { strategy: 'route-replace', via: pick.id, actions: routesTo(zone.name, tables, target) };
    }
    if (zone.fallbackNatGatewayId)
      return { strategy: 'nat-gateway', via: zone.fallbackNatGatewayId, actions: routesTo(zone.name, tables, { kind: 'nat-gateway', id: zone.fallbackNatGatewayId }) };
    return undefined;
  }

  /** Re-associate the zone's subnets with a table of another zone whose egress is local and usable. */
  function associationSwap(zone: ObservedZone, tables: ObservedRouteTable[], remote: ObservedNode[]): Choice | undefined {
    const ok = new Set(remote.map((n) => n.id));
    const donor = vpc.routeTables
      .filter((t) => t.zone !== zone.name)
      .sort((a, b) => a.id.localeCompare(b.id))
      .find((t) => {
        const v = viaOf(t);
        return v.kind === 'node' && ok.has(v.node) && idx.node(v.node)?.zone === t.zone;
      });
    if (!donor) return undefined;
    const via = viaOf(donor);
    const actions: Action[] = tables.flatMap((t) =>
      t.subnetAssociations.map((a): Action => ({ kind: 'replace-association', zone: zone.name, associationId: a.associationId, subnetId: a.subnetId, routeTableId: donor.id })),
    );
    return { strategy: 'association-swap', via: via.kind === 'node' ? via.node : donor.id, actions };
  }

  const decisions: (ZoneDecision & { rank: number })[] = [];
  for (const zone of vpc.zones) {
    const tables = tablesOf(vpc, zone.name);
    if (!tables.length) continue;
    const vias = tables.map((t) => ({ t, via: viaOf(t) }));
    const conds = vias.map((v) => condition(v.via));
    const failing = new Set(vias.flatMap((v, i) => (v.via.kind === 'node' && conds[i] !== 'usable' && conds[i] !== 'doubtful' ? [v.via.node] : [])));
    const broken = conds.filter((c) => c === 'failed').length;
    const leaving = conds.filter((c) => c === 'leaving').length;
    const locals = vpc.nodes.filter((n) => n.zone === zone.name && !failing.has(n.id) && usable(n) && named(zone, n)).sort(byPreference(zone));
    const decide = (d: Omit<ZoneDecision, 'zone'>, rank: number) => {
      decisions.push({ zone: zone.name, ...d, rank });
      if (d.actions.length && d.via) load.set(d.via, (load.get(d.via) ?? 0) + 1);
    };

    if (broken || leaving) {
      const why = vias
        .filter((_, i) => conds[i] === 'failed' || conds[i] === 'leaving')
        .map(({ t, via }) => `${t.id}: ${describeVia(via, idx, input.health)}`)
        .join('; ');
      const choice = locals[0] ? local(zone, tables, locals[0]) : elsewhere(zone, tables, failing);
      const outcome = broken ? 'failover' : 'handover';
      if (!choice) decide({ outcome: broken ? 'no-egress' : 'held', reason: `${why}; no usable NAT and no NAT Gateway to move to`, actions: [] }, broken === tables.length ? 0 : 1);
      else decide({ outcome, strategy: choice.strategy, via: choice.via, reason: `${why} → ${choice.strategy} via ${choice.via}`, actions: choice.actions }, broken === tables.length ? 0 : broken ? 1 : 2);
      continue;
    }

    const allLocal = vias.every((v) => v.via.kind === 'node' && idx.node(v.via.node)?.zone === zone.name);
    if (allLocal) {
      decide({ outcome: 'ok', via: vias[0]!.via.kind === 'node' ? vias[0]!.via.node : undefined, reason: 'egress through a zone-local NAT', actions: [] }, 9);
      continue;
    }
    // Served from elsewhere: fail back when a local NAT has been healthy long enough.
    const home = locals.find((n) => stableFor(input.health.get(n.id), now, policy.failbackAfterMs));
    const recent = input.history.filter((h) => h.zone === zone.name && now - h.at < policy.transitionWindowMs).length;
    if (!home) {
      const waiting = locals[0] ? `; ${locals[0].id} healthy for ${Math.round((now - (input.health.get(locals[0].id)?.healthySince ?? now)) / 1000)} s of ${policy.failbackAfterMs / 1000} s` : '';
      decide({ outcome: 'ok', reason: `egress from another zone or a NAT Gateway${waiting}`, actions: [] }, 9);
    } else if (recent >= policy.maxTransitions) {
      decide({ outcome: 'held', via: home.id, reason: `failback to ${home.id} held: ${recent} transitions in the last ${policy.transitionWindowMs / 1000} s (anti-flap limit ${policy.maxTransitions})`, actions: [] }, 8);
    } else {
      const choice = local(zone, tables, home);
      decide({ outcome: 'failback', strategy: choice.strategy, via: home.id, reason: `${home.id} healthy for ${policy.failbackAfterMs / 1000} s → back to the zone-local NAT`, actions: choice.actions }, 3);
    }
  }

  decisions.sort((a, b) => a.rank - b.rank);
  const out: ZoneDecision[] = decisions.map(({ rank: _rank, ...d }) => d);
  const actions = out.flatMap((d) => d.actions);
  for (const a of actions)
    if (a.kind === 'replace-route' && !idx.allowedTarget(a.target)) throw new Error(`planner bug: a route to ${JSON.stringify(a.target)}, which is not a configured NAT target`);
  return { decisions: out, actions };
}

/**
 * Replaces the routes not yet pointing at `target`. A route already to the target but
 * marked blackhole is left alone: the target is usable (or, for a floating ENI, attached
 * by the same plan), and EC2 makes such a route active again once its target is.
 */
function routesTo(zone: string, tables: ObservedRouteTable[], target: RouteTarget): Action[] {
  return tables.filter((t) => !sameTarget(t.target, target)).map((t) => ({ kind: 'replace-route', zone, routeTableId: t.id, target, from: t.target }));
}

function describeVia(via: Via, idx: VpcIndex, health: ReadonlyMap<NodeId, NodeHealth>): string {
  if (via.kind === 'none') return via.why;
  if (via.kind === 'nat-gateway') return `NAT Gateway ${via.id}`;
  const n = idx.node(via.node);
  if (!n) return `${via.node} is gone`;
  if (n.state !== 'running') return `${n.id} is ${n.state}`;
  if (health.get(n.id)?.state === 'unhealthy') return `${n.id} is unhealthy`;
  if (n.handover) return `${n.id} announced ${n.handover.cause}`;
  return `${n.id} is ${health.get(n.id)?.state ?? 'unknown'}`;
}
