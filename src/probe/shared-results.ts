// Probe results shared between peer agents, carried in heartbeats.
//
// Why: a verdict about node X weighs probes from two vantage points, X's own ("self")
// and a peer's probes through X ("peer:P"). X's agent makes the first, P's agent the
// second; each agent needs both to judge X (and the correlated-failure guard needs
// to know whether some *other* node reaches a target). So every heartbeat carries the
// sender's latest result per (node, target, vantage) that it produced itself, and the
// receiver turns the new ones into ordinary probe signals.
//
// Rules at the receiver:
//  - Only first-hand results: vantage `self` about the sender itself, or vantage
//    `peer:<sender>` about another node. Nothing is relayed further.
//  - Each result is sent in several heartbeats (it stays the latest until the next
//    probe replaces it); a result is taken once, when its time is newer than the last
//    one taken for that key from that sender.
//  - Times are the sender's clock. The receiver maps them onto its own clock by age
//    (sentAt - at, both the sender's) so clock skew between nodes never makes a
//    result look fresh or stale.
import { z } from 'zod';
import { isVantage, type NodeId, type ProbeResultSignal, type Timestamp } from '../domain/signals.js';

/** At most this many results per heartbeat: targets (≤ 64) × vantages, sized for a small group. */
export const MAX_SHARED_RESULTS = 256;

/** On the wire: [node, target, vantage, ok (1/0), latencyMs, at]. */
export type SharedResult = [node: NodeId, target: string, vantage: string, ok: 0 | 1, latencyMs: number, at: Timestamp];

const nodeId = z.string().min(1).max(64);
export const sharedResultSchema = z.tuple([
  nodeId,
  z.string().min(1).max(64),
  z.string().max(70).refine(isVantage),
  z.union([z.literal(0), z.literal(1)]),
  z.number().finite().nonnegative().max(3_600_000),
  z.number().finite(),
]);
export const sharedResultsSchema = z.array(sharedResultSchema).max(MAX_SHARED_RESULTS);

const keyOf = (node: NodeId, target: string, vantage: string) => `${node}\u0000${target}\u0000${vantage}`;

/** The sender side: the latest own result per key, dropped once older than `maxAgeMs`. */
export interface SharedResultsOutbox {
  /** Feed every probe signal this agent produced; others are ignored by the caller. */
  record(s: ProbeResultSignal): void;
  /** The results to put in the next heartbeat. */
  current(now: Timestamp): SharedResult[];
}

export function createSharedResultsOutbox(maxAgeMs: number): SharedResultsOutbox {
  const latest = new Map<string, ProbeResultSignal>();
  return {
    record(s) {
      const k = keyOf(s.node, s.target, s.vantage);
      const prev = latest.get(k);
      if (!prev || prev.at <= s.at) latest.set(k, s);
    },
    current(now) {
      const out: SharedResult[] = [];
      for (const [k, s] of latest) {
        if (now - s.at > maxAgeMs) {
          latest.delete(k);
          continue;
        }
        if (out.length < MAX_SHARED_RESULTS) out.push([s.node, s.target, s.vantage, s.ok ? 1 : 0, Math.round(s.latencyMs * 10) / 10, s.at]);
      }
      return out;
    },
  };
}

/** The receiver side for one sender: which results are new, as signals on the local clock. */
export interface SharedResultsInbox {
  accept(results: readonly SharedResult[], sentAt: Timestamp, receivedAt: Timestamp): { signals: ProbeResultSignal[]; rejected: number };
}

export function createSharedResultsInbox(sender: NodeId): SharedResultsInbox {
  const lastTaken = new Map<string, Timestamp>();
  const firstHand = (node: NodeId, vantage: string) => (vantage === 'self' ? node === sender : vantage === `peer:${sender}` && node !== sender);
  return {
    accept(results, sentAt, receivedAt) {
      const signals: ProbeResultSignal[] = [];
      let rejected = 0;
      for (const [node, target, vantage, ok, latencyMs, at] of results) {
        if (!firstHand(node, vantage) || !isVantage(vantage)) {
          rejected++;
          continue;
        }
        const k = keyOf(node, target, vantage);
        const prev = lastTaken.get(k);
        if (prev !== undefined && at <= prev) continue;
        lastTaken.set(k, at);
        // Age by the sender's clock, placed on ours; never in our future.
        const age = Math.max(0, sentAt - at);
        signals.push({ kind: 'probe', node, target, vantage, ok: ok === 1, latencyMs, at: receivedAt - age });
      }
      return { signals, rejected };
    },
  };
}
