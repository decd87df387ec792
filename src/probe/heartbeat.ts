// UDP heartbeats between peer agents (keepalived-style: interval × missed count =
// detection time). Every `intervalMs` (default 100 ms) this endpoint sends
// {node, seq, verdict, sentAt} as compact JSON to each peer; incoming datagrams are
// validated with zod, and anything malformed or from an unknown node is counted and
// dropped. A peer that was heard from and then stays silent for `missedIntervals`
// intervals yields one heartbeat-lost signal (a signal only, never a verdict); the
// next datagram from it yields heartbeat-received again.
//
// A heartbeat may also carry the sender's latest probe results (shared-results.ts), so
// every agent sees each node from every vantage point.

import dgram from 'node:dgram';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { HANDOVER_CAUSES, type HeartbeatLostSignal, type HeartbeatReceivedSignal, type NodeId, type PlannedHandoverSignal, type ProbeResultSignal } from '../domain/signals.js';
import type { VerdictState } from '../domain/verdict/index.js';
import { globalTimers, type Timers } from './scheduler.js';
import { createSharedResultsInbox, sharedResultsSchema, type SharedResult, type SharedResultsInbox } from './shared-results.js';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 100;
export const DEFAULT_HEARTBEAT_MISSED_INTERVALS = 5;
/**
 * Larger datagrams are dropped unparsed. A result is ~70 bytes: 3 targets × 4 vantages
 * stay under 1 KB, far below a VPC's 9001-byte MTU; the cap allows larger groups.
 */
export const MAX_HEARTBEAT_BYTES = 16_384;

const VERDICT_STATES = ['unknown', 'healthy', 'unhealthy', 'internet-unreachable'] as const satisfies readonly VerdictState[];

export const heartbeatMessageSchema = z
  .object({
    node: z.string().min(1).max(64),
    seq: z.number().int().nonnegative(),
    verdict: z.enum(VERDICT_STATES),
    sentAt: z.number().finite(),
    probes: sharedResultsSchema.optional(),
    /** The sender carries egress now (a floating ENI is attached to it): leadership prefers nodes that do not. */
    egress: z.boolean().optional(),
    /** The sender could take the lease now (campaigning, controller on, store reachable). */
    canLead: z.boolean().optional(),
    /** The sender announces it is going away (Spot, rebalance, SIGTERM, lifecycle). */
    handover: z
      .object({ cause: z.enum(HANDOVER_CAUSES), at: z.number().finite(), deadline: z.number().finite().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type HeartbeatMessage = z.output<typeof heartbeatMessageSchema>;

export function encodeHeartbeat(m: HeartbeatMessage): Buffer {
  const probes = m.probes?.length ? { probes: m.probes } : {};
  const handover = m.handover ? { handover: m.handover } : {};
  const flags = { ...(m.egress ? { egress: true } : {}), ...(m.canLead ? { canLead: true } : {}) };
  return Buffer.from(JSON.stringify({ node: m.node, seq: m.seq, verdict: m.verdict, sentAt: m.sentAt, ...flags, ...probes, ...handover }));
}

/** The message, or undefined for anything that is not a valid heartbeat. Never throws. */
export function decodeHeartbeat(buf: Buffer): HeartbeatMessage | undefined {
  if (buf.length === 0 || buf.length > MAX_HEARTBEAT_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
  const r = heartbeatMessageSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

export interface HeartbeatPeer {
  node: NodeId;
  address: string;
  port: number;
}

export type HeartbeatSignal = HeartbeatReceivedSignal | HeartbeatLostSignal | ProbeResultSignal | PlannedHandoverSignal;

export interface HeartbeatOptions {
  node: NodeId;
  /** Address to bind; e.g. the node's private IP (127.0.0.1 in tests). */
  bindAddress: string;
  /** UDP port to bind; 0 picks a free one (read it back from port()). */
  port: number;
  peers: readonly HeartbeatPeer[];
  clock: Clock;
  /** The node's latest verdict, read at each send. */
  verdict: () => VerdictState;
  onSignal: (s: HeartbeatSignal) => void;
  /** This node's own latest probe results, sent in every heartbeat; peers' arrive as probe signals. */
  sharedResults?: (now: number) => SharedResult[];
  /** Whether this node carries egress now, read at each send. */
  carriesEgress?: () => boolean;
  /** Whether this node could take the lease now, read at each send. */
  canLead?: () => boolean;
  /** This node's planned-handover notice, announced in every heartbeat while set (times on this node's clock). */
  handover?: () => HeartbeatMessage['handover'];
  intervalMs?: number;
  /** Missed intervals before heartbeat-lost; default DEFAULT_HEARTBEAT_MISSED_INTERVALS. */
  missedIntervals?: number;
  timers?: Timers;
}

export interface HeartbeatStats {
  sent: number;
  sendErrors: number;
  received: number;
  /** Not JSON, wrong shape, too large. */
  malformed: number;
  /** Valid shape, but from a node that is not a configured peer (or from ourselves). */
  unknownPeer: number;
  /** Shared probe results taken as signals. */
  sharedTaken: number;
  /** Shared probe results refused: not first-hand from their sender. */
  sharedRejected: number;
}

export interface PeerHeartbeatState {
  node: NodeId;
  state: 'never-seen' | 'alive' | 'lost';
  lastSeq?: number;
  lastReceivedAt?: number;
  lastVerdict?: VerdictState;
  /** The peer said, in its last heartbeat, that it carries egress. */
  carriesEgress?: boolean;
  /** The peer said, in its last heartbeat, that it could take the lease now. */
  canLead?: boolean;
}

export interface HeartbeatEndpoint {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound UDP port (after start). */
  port(): number;
  stats(): HeartbeatStats;
  peers(): PeerHeartbeatState[];
  /** Replaces the peer list (discovery): new peers start never-seen, departed ones are forgotten. */
  setPeers(next: readonly HeartbeatPeer[]): void;
}

export function createHeartbeatEndpoint(opts: HeartbeatOptions): HeartbeatEndpoint {
  const intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const missed = opts.missedIntervals ?? DEFAULT_HEARTBEAT_MISSED_INTERVALS;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs: expected > 0, got ${intervalMs}`);
  if (!Number.isInteger(missed) || missed < 1) throw new RangeError(`missedIntervals: expected an integer >= 1, got ${missed}`);
  const timers = opts.timers ?? globalTimers;

  const stats: HeartbeatStats = { sent: 0, sendErrors: 0, received: 0, malformed: 0, unknownPeer: 0, sharedTaken: 0, sharedRejected: 0 };
  const inboxes = new Map<NodeId, SharedResultsInbox>();
  const handoversSeen = new Map<NodeId, number>();
  let peers: readonly HeartbeatPeer[] = [...opts.peers];
  const state = new Map<NodeId, PeerHeartbeatState>(peers.map((p) => [p.node, { node: p.node, state: 'never-seen' }]));
  let socket: dgram.Socket | undefined;
  let timer: unknown;
  let seq = 0;
  let boundPort = 0;
  let running = false;

  const emit = (s: HeartbeatSignal) => {
    try {
      opts.onSignal(s);
    } catch {
      // a consumer bug must not stop heartbeats
    }
  };

  const onMessage = (buf: Buffer) => {
    const m = decodeHeartbeat(buf);
    if (!m) {
      stats.malformed++;
      return;
    }
    const peer = state.get(m.node);
    if (!peer || m.node === opts.node) {
      stats.unknownPeer++;
      return;
    }
    stats.received++;
    const at = opts.clock.now();
    peer.state = 'alive';
    peer.lastSeq = m.seq;
    peer.lastReceivedAt = at;
    peer.lastVerdict = m.verdict;
    peer.carriesEgress = m.egress === true;
    peer.canLead = m.canLead === true;
    emit({ kind: 'heartbeat-received', from: m.node, seq: m.seq, at });
    if (m.probes?.length) {
      let inbox = inboxes.get(m.node);
      if (!inbox) inboxes.set(m.node, (inbox = createSharedResultsInbox(m.node)));
      const { signals, rejected } = inbox.accept(m.probes, m.sentAt, at);
      stats.sharedTaken += signals.length;
      stats.sharedRejected += rejected;
      for (const s of signals) emit(s);
    }
    // A notice is signalled once (per `at`), its times moved onto our clock like shared results.
    if (m.handover && handoversSeen.get(m.node) !== m.handover.at) {
      handoversSeen.set(m.node, m.handover.at);
      const local = (t: number) => at - Math.max(0, m.sentAt - t);
      const { cause, deadline } = m.handover;
      emit({ kind: 'planned-handover', node: m.node, cause, at: local(m.handover.at), ...(deadline !== undefined ? { deadline: at + (deadline - m.sentAt) } : {}) });
    }
  };

  const tick = () => {
    if (!running || !socket) return;
    const sentAt = opts.clock.now();
    const probes = opts.sharedResults?.(sentAt);
    const handover = opts.handover?.();
    const flags = { ...(opts.carriesEgress?.() ? { egress: true } : {}), ...(opts.canLead?.() ? { canLead: true } : {}) };
    const msg = encodeHeartbeat({ node: opts.node, seq: seq++, verdict: opts.verdict(), sentAt, ...flags, ...(probes ? { probes } : {}), ...(handover ? { handover } : {}) });
    for (const p of peers) {
      socket.send(msg, p.port, p.address, (err) => {
        if (err) stats.sendErrors++;
        else stats.sent++;
      });
    }
    const now = opts.clock.now();
    for (const p of state.values()) {
      if (p.state === 'alive' && p.lastReceivedAt !== undefined && now - p.lastReceivedAt >= missed * intervalMs) {
        p.state = 'lost';
        emit({ kind: 'heartbeat-lost', from: p.node, seq: p.lastSeq ?? 0, at: now });
      }
    }
    timer = timers.setTimeout(tick, intervalMs);
  };

  return {
    async start() {
      if (running) return;
      const s = dgram.createSocket({ type: 'udp4' });
      s.on('message', onMessage);
      s.on('error', () => {
        stats.sendErrors++;
      });
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(opts.port, opts.bindAddress, () => {
            s.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        s.close();
        throw e;
      }
      socket = s;
      boundPort = s.address().port;
      running = true;
      tick();
    },
    async stop() {
      running = false;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      const s = socket;
      socket = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    port: () => boundPort,
    stats: () => ({ ...stats }),
    peers: () => [...state.values()].map((p) => ({ ...p })),
    setPeers(next) {
      peers = [...next];
      const keep = new Set(peers.map((p) => p.node));
      for (const node of [...state.keys()]) {
        if (keep.has(node)) continue;
        state.delete(node);
        inboxes.delete(node);
        handoversSeen.delete(node);
      }
      for (const p of peers) if (!state.has(p.node)) state.set(p.node, { node: p.node, state: 'never-seen' });
    },
  };
}
