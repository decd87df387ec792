// Manual failover and failback (`natkeeper failover|failback --zone Z`) as operator
// intents in the decision log. The CLI checks the request against what the controller
// would plan, then appends it with the current fencing token — so it is bound to the
// leadership it was checked under (a change of leader in between refuses the append) —
// and the lease holder's controller, which reads the log every cycle, applies it:
//   operator-failover {zone, from, to?, until}: `from` counts as leaving (like a planned
//     handover) until `until` or a later failback intent; with `to`, only that node may
//     take the zone's egress.
//   operator-failback {zone}: any failover intent for the zone ends, and the zone's own
//     NATs count as stable at once (no failbackAfter wait) until the controller records
//     a failback for the zone or FAILBACK_INTENT_MS pass.
// Pure: records and time in, overrides out.
import type { DecisionRecord, JsonValue } from '../domain/ports/lease-store.js';
import type { NodeHealth, ObservedVpc } from '../domain/planner/index.js';
import type { NodeId, Timestamp } from '../domain/signals.js';

export const OPERATOR_FAILOVER = 'operator-failover';
export const OPERATOR_FAILBACK = 'operator-failback';
/** How long a failback request waits for the controller to act on it. */
export const FAILBACK_INTENT_MS = 5 * 60_000;
/** A failover request lasts this long unless the operator says otherwise (`--for`). */
export const DEFAULT_FAILOVER_FOR_MS = 60 * 60_000;
export const MAX_FAILOVER_FOR_MS = 7 * 24 * 60 * 60_000;

export interface FailoverIntent {
  zone: string;
  from: NodeId;
  to?: NodeId;
  until: Timestamp;
  at: Timestamp;
  by: string;
}

export interface OperatorIntents {
  /** zone → the live failover request. */
  away: Map<string, FailoverIntent>;
  /** zone → when the live failback request was made. */
  failbackNow: Map<string, Timestamp>;
}

const str = (v: JsonValue | undefined) => (typeof v === 'string' && v ? v : undefined);
const num = (v: JsonValue | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The live intents at `now`, from decision records (any order; applied oldest first). */
export function intentsFrom(records: readonly DecisionRecord[], now: Timestamp): OperatorIntents {
  const away = new Map<string, FailoverIntent>();
  const failbackNow = new Map<string, Timestamp>();
  for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
    const zone = str(r.detail?.['zone']);
    if (!zone) continue;
    if (r.action === OPERATOR_FAILOVER) {
      const from = str(r.detail?.['from']);
      const until = num(r.detail?.['until']);
      if (!from || until === undefined) continue;
      const to = str(r.detail?.['to']);
      away.set(zone, { zone, from, until, at: r.at, by: r.holder, ...(to ? { to } : {}) });
      failbackNow.delete(zone);
    } else if (r.action === OPERATOR_FAILBACK) {
      away.delete(zone);
      failbackNow.set(zone, r.at);
    } else if (r.action === 'failback') {
      failbackNow.delete(zone);
    }
  }
  for (const [zone, i] of away) if (now >= i.until) away.delete(zone);
  for (const [zone, at] of failbackNow) if (now - at >= FAILBACK_INTENT_MS) failbackNow.delete(zone);
  return { away, failbackNow };
}

/**
 * Applies live intents to what the planner sees (mutates `vpc`'s nodes and `health`):
 * the node an operator moves egress away from gets a handover notice; a failback request
 * makes the zone's healthy NATs stable for failback now. Returns the zones an operator
 * pinned to one node (the planner's onlyVia).
 */
export function applyIntents(vpc: ObservedVpc, health: Map<NodeId, NodeHealth>, intents: OperatorIntents, failbackAfterMs: number, now: Timestamp): Map<string, NodeId> {
  const onlyVia = new Map<string, NodeId>();
  for (const i of intents.away.values()) {
    const n = vpc.nodes.find((x) => x.id === i.from);
    if (n) n.handover = { cause: 'operator', at: i.at, deadline: i.until };
    if (i.to) onlyVia.set(i.zone, i.to);
  }
  for (const zone of intents.failbackNow.keys())
    for (const n of vpc.nodes) {
      const h = health.get(n.id);
      if (n.zone === zone && h?.state === 'healthy') health.set(n.id, { ...h, healthySince: Math.min(h.healthySince ?? now, now - failbackAfterMs) });
    }
  return onlyVia;
}
