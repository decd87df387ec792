import { describe, expect, it } from 'vitest';
import { onLinkIn } from '../../src/agent/node-aws.js';
import { createPeerSet } from '../../src/agent/peer-set.js';
import type { StaticPeer } from '../../src/agent/peers.js';
import type { Runner } from '../../src/dataplane/runner.js';
import type { HeartbeatPeer, PeerRoute, ProbeScheduler } from '../../src/probe/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';

function harness(opts: { failNft?: boolean } = {}) {
  const commands: string[] = [];
  const runner: Runner = async (argv) => {
    commands.push(argv.join(' '));
    if (opts.failNft && argv[0] === 'nft') return { code: 1, stdout: '', stderr: 'Error: Operation not permitted' };
    return { code: 0, stdout: '', stderr: '' };
  };
  const heartbeatPeers: HeartbeatPeer[][] = [];
  const schedulers: { peer: string; started: boolean; stopped: boolean }[] = [];
  const set = createPeerSet({
    runner,
    heartbeat: { setPeers: (p) => heartbeatPeers.push([...p]) },
    onLink: onLinkIn('10.0.0.0/24'),
    logger: silentLogger,
    probeThrough: (route: PeerRoute): ProbeScheduler => {
      const s = { peer: route.peerId, started: false, stopped: false };
      schedulers.push(s);
      return { start: () => void (s.started = true), stop: async () => void (s.stopped = true) } as unknown as ProbeScheduler;
    },
  });
  return { set, commands, heartbeatPeers, schedulers };
}

const peer = (id: string, address: string): StaticPeer => ({ id, address, heartbeatPort: 9470 });

describe('the agent’s peer set', () => {
  it('heartbeats go to every peer; probes go only through peers on this node’s subnet', async () => {
    const h = harness();
    await h.set.update([peer('i-a2', '10.0.0.12'), peer('i-b1', '10.0.1.10'), peer('i-c1', '10.0.2.10')]);
    expect(h.heartbeatPeers.at(-1)!.map((p) => p.node)).toEqual(['i-a2', 'i-b1', 'i-c1']);
    expect(h.set.probedThrough()).toEqual(['i-a2']);
    expect(h.schedulers).toEqual([{ peer: 'i-a2', started: true, stopped: false }]);
    expect(h.commands.filter((c) => c.startsWith('ip route replace'))).toEqual(['ip route replace default via 10.0.0.12 table 201']);
  });

  it('an unchanged list costs nothing; a changed one rebuilds routes and schedulers', async () => {
    const h = harness();
    await h.set.update([peer('i-a2', '10.0.0.12')]);
    const n = h.commands.length;
    await h.set.update([peer('i-a2', '10.0.0.12')]);
    expect(h.commands.length).toBe(n);
    expect(h.heartbeatPeers).toHaveLength(1);
    // a2 replaced by a3 (the ASG replaced it): the old routes go, the new ones come.
    await h.set.update([peer('i-a3', '10.0.0.13')]);
    expect(h.commands.slice(n)).toEqual(expect.arrayContaining(['ip route flush table 201', 'ip route replace default via 10.0.0.13 table 201']));
    expect(h.schedulers.map((s) => [s.peer, s.started, s.stopped])).toEqual([
      ['i-a2', true, true],
      ['i-a3', true, false],
    ]);
    expect(h.set.peers().map((p) => p.id)).toEqual(['i-a3']);
  });

  it('peer routes that cannot be installed: heartbeats still go, no probes through peers', async () => {
    const h = harness({ failNft: true });
    await h.set.update([peer('i-a2', '10.0.0.12')]);
    expect(h.heartbeatPeers.at(-1)!.map((p) => p.node)).toEqual(['i-a2']);
    expect(h.set.probedThrough()).toEqual([]);
    expect(h.schedulers).toEqual([]);
  });

  it('onLinkIn: inside the CIDR only; without a CIDR every peer counts as on-link', () => {
    const in24 = onLinkIn('10.0.0.0/24');
    expect([in24('10.0.0.1'), in24('10.0.0.255'), in24('10.0.1.0'), in24('not-an-ip')]).toEqual([true, true, false, false]);
    expect(onLinkIn(undefined)('192.0.2.1')).toBe(true);
  });
});
