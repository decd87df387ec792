// The agent's current peers, and what follows from them: heartbeat destinations for
// all, and probes through the ones on this node's subnet (a peer can only be a next hop
// when it is on-link; a NAT in another subnet or zone cannot be reached as a gateway, so
// it exchanges heartbeats and shared results but is not probed through).
// A change of the peer list rebuilds the peer routes and schedulers as a whole: peer
// slots (ports, mark, table) are positional, and lists change rarely.
import type { Runner } from '../dataplane/runner.js';
import type { NodeId } from '../domain/signals.js';
import { applyPeerRoutes, removePeerRoutes, type HeartbeatEndpoint, type PeerRoute, type ProbeScheduler } from '../probe/index.js';
import type { Logger } from '../telemetry/logger.js';
import { heartbeatPeers, peerRoutes, type StaticPeer } from './peers.js';

export interface PeerSetOptions {
  runner: Runner;
  heartbeat: Pick<HeartbeatEndpoint, 'setPeers'>;
  /** Whether a peer's address can be a next hop from this node. */
  onLink: (address: string) => boolean;
  /** Creates (not starts) the probes through one peer. */
  probeThrough: (route: PeerRoute) => ProbeScheduler;
  logger: Logger;
}

export interface PeerSet {
  /** Applies a new peer list; calls are serialised. Unchanged lists cost nothing. */
  update(peers: readonly StaticPeer[]): Promise<void>;
  peers(): StaticPeer[];
  /** Peers this node probes through. */
  probedThrough(): NodeId[];
  /** Stops the probes through peers; routes stay (they are harmless and reused at restart). */
  stop(): Promise<void>;
}

const signature = (peers: readonly StaticPeer[]) => JSON.stringify(peers.map((p) => [p.id, p.address, p.heartbeatPort]));

export function createPeerSet(opts: PeerSetOptions): PeerSet {
  let current: StaticPeer[] = [];
  let routes: PeerRoute[] = [];
  let schedulers: ProbeScheduler[] = [];
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;

  async function apply(next: StaticPeer[]) {
    if (stopped || signature(next) === signature(current)) return;
    const before = current.map((p) => p.id);
    current = next;
    opts.heartbeat.setPeers(heartbeatPeers(next));
    await Promise.allSettled(schedulers.map((s) => s.stop()));
    schedulers = [];
    if (routes.length) await removePeerRoutes(opts.runner, routes);
    routes = peerRoutes(next.filter((p) => opts.onLink(p.address)));
    if (routes.length) {
      const r = await applyPeerRoutes(opts.runner, routes);
      if (!r.ok) {
        opts.logger.error('peer_routes_failed', { reason: r.reason, effect: 'no probes through peers' });
        routes = [];
      }
    }
    if (stopped) return;
    schedulers = routes.map((route) => opts.probeThrough(route));
    for (const s of schedulers) s.start();
    opts.logger.info('peers_changed', { before, after: next.map((p) => p.id), probedThrough: routes.map((r) => r.peerId) });
  }

  return {
    update(peers) {
      const next = [...peers];
      queue = queue.then(() => apply(next)).catch((e: unknown) => opts.logger.error('peers_update_failed', { error: e as Error }));
      return queue;
    },
    peers: () => current.map((p) => ({ ...p })),
    probedThrough: () => routes.map((r) => r.peerId),
    async stop() {
      stopped = true;
      await queue;
      await Promise.allSettled(schedulers.map((s) => s.stop()));
      schedulers = [];
    },
  };
}
