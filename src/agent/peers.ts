// Static peers from the config: heartbeat destinations, and the peer-vantage routing
// (a reserved source-port range, fwmark and routing table per peer; see
// src/probe/peer-route.ts). Ranges start at 61000, above the kernel's default
// ip_local_port_range (32768-60999), so ordinary sockets never pick them.
import type { AgentConfig, ProbeTargetConfig } from '../config/agent-config.js';
import type { NodeId } from '../domain/signals.js';
import type { HeartbeatPeer, PeerRoute, ProbeTarget } from '../probe/index.js';

export const PEER_PORT_BASE = 61_000;
export const PEER_PORTS_EACH = 50;
export const PEER_MARK_BASE = 0x4e4b0001;
export const PEER_TABLE_BASE = 201;

export interface StaticPeer {
  id: NodeId;
  address: string;
  heartbeatPort: number;
}

/** The static peers, or none when peers are discovered. */
export function staticPeers(config: AgentConfig): StaticPeer[] {
  if (config.peers.mode !== 'static') return [];
  return config.peers.nodes.map((p) => ({ id: p.id, address: p.address, heartbeatPort: p.heartbeatPort ?? config.heartbeat.port }));
}

export function heartbeatPeers(peers: readonly StaticPeer[]): HeartbeatPeer[] {
  return peers.map((p) => ({ node: p.id, address: p.address, port: p.heartbeatPort }));
}

/** One route per peer, in config order: ports 61000-61049, mark 0x4e4b0001, table 201 for the first. */
export function peerRoutes(peers: readonly StaticPeer[]): PeerRoute[] {
  return peers.map((p, i) => ({
    peerId: p.id,
    peerIp: p.address,
    portRange: { from: PEER_PORT_BASE + i * PEER_PORTS_EACH, to: PEER_PORT_BASE + (i + 1) * PEER_PORTS_EACH - 1 },
    mark: PEER_MARK_BASE + i,
    table: PEER_TABLE_BASE + i,
  }));
}

/** A config target as the probes take it. */
export function probeTarget(t: ProbeTargetConfig): ProbeTarget {
  switch (t.kind) {
    case 'tcp':
      return { kind: 'tcp', name: t.name, host: t.host, port: t.port };
    case 'http': {
      const host = t.host.includes(':') ? `[${t.host}]` : t.host;
      return { kind: 'http', name: t.name, url: `${t.tls ? 'https' : 'http'}://${host}:${t.port}${t.path}` };
    }
    case 'icmp':
      return { kind: 'icmp', name: t.name, host: t.host };
  }
}
