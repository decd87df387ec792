// Building probe jobs for the two vantage points (see Vantage in domain/signals.ts):
//  - through this node itself: node = self, vantage = 'self';
//  - through a peer NAT as next hop: node = the peer (whose NAT function is tested),
//    vantage = `peer:<self>`; sockets bind a source port from the peer's reserved
//    range (TCP/HTTP) or set its fwmark (ICMP), so peer-route.ts's rules route them
//    through the peer.

import { peerVantage, type NodeId } from '../domain/signals.js';
import { PortAllocator, type PeerRoute } from './peer-route.js';
import type { ProbeJob } from './scheduler.js';
import type { ProbeTarget } from './targets.js';

export function selfJobs(self: NodeId, targets: readonly ProbeTarget[], timeoutMs?: number): ProbeJob[] {
  return targets.map((target) => ({ node: self, target, vantage: 'self', ...(timeoutMs !== undefined ? { timeoutMs } : {}) }));
}

export function throughPeerJobs(self: NodeId, peer: PeerRoute, targets: readonly ProbeTarget[], timeoutMs?: number): ProbeJob[] {
  const ports = new PortAllocator(peer.portRange); // shared by all of this peer's jobs
  return targets.map((target) => ({
    node: peer.peerId,
    target,
    vantage: peerVantage(self),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    socketOptions: () => (target.kind === 'icmp' ? { mark: peer.mark } : { localPort: ports.take() }),
  }));
}
