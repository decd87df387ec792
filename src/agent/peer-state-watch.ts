// EC2 state of peers that went silent. Heartbeat loss alone never judges a node, but a
// hard-killed NAT also stops its own agent, so its "self" vantage goes quiet and probe
// evidence can never reach two vantages. EC2 knows: once a silent peer's state is no
// longer `running`, that is an ec2-state signal, and the verdict policy makes the node
// unhealthy on it. While any peer is lost, one DescribeInstances call (all lost peers
// at once) every pollMs; none while every peer is heard — so the API cost is zero in
// steady state. A peer heard again gets one last read, to record that it runs again.
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../domain/clock.js';
import { EC2_STATES, type Ec2State, type Ec2StateSignal, type NodeId } from '../domain/signals.js';
import { globalTimers, type Timers } from '../probe/scheduler.js';
import type { Logger } from '../telemetry/logger.js';

export const DEFAULT_PEER_STATE_POLL_MS = 1_000;

export interface PeerStateWatchOptions {
  ec2: Pick<EC2Client, 'send'>;
  clock: Clock;
  logger: Logger;
  onSignal: (s: Ec2StateSignal) => void;
  pollMs?: number;
  timers?: Timers;
}

export interface PeerStateWatch {
  lost(peer: NodeId): void;
  heard(peer: NodeId): void;
  /** Peers being polled now. */
  watching(): NodeId[];
  stop(): Promise<void>;
}

const isEc2State = (s: string | undefined): s is Ec2State => (EC2_STATES as readonly string[]).includes(s ?? '');

export function createPeerStateWatch(opts: PeerStateWatchOptions): PeerStateWatch {
  const timers = opts.timers ?? globalTimers;
  const pollMs = opts.pollMs ?? DEFAULT_PEER_STATE_POLL_MS;
  const lost = new Set<NodeId>();
  const lastRead = new Set<NodeId>();
  let timer: unknown;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  async function poll(ids: NodeId[]) {
    const found = new Set<NodeId>();
    try {
      const out = await opts.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      for (const r of out.Reservations ?? [])
        for (const i of r.Instances ?? []) {
          const state = i.State?.Name;
          if (!i.InstanceId || !isEc2State(state)) continue;
          found.add(i.InstanceId);
          opts.onSignal({ kind: 'ec2-state', node: i.InstanceId, state, at: opts.clock.now() });
        }
    } catch (e) {
      // A peer terminated long enough ago is gone from the API: for us it is terminated.
      const name = (e as { name?: string }).name;
      if (name === 'InvalidInstanceID.NotFound' && ids.length === 1) {
        opts.onSignal({ kind: 'ec2-state', node: ids[0]!, state: 'terminated', at: opts.clock.now() });
        return;
      }
      opts.logger.warn('peer_state_read_failed', { peers: ids, error: e as Error });
      return;
    }
    for (const id of ids) if (!found.has(id)) opts.logger.warn('peer_state_missing', { peer: id });
  }

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const ids = [...new Set([...lost, ...lastRead])];
    lastRead.clear();
    if (!ids.length) return;
    inFlight = poll(ids).finally(() => {
      inFlight = undefined;
      if (!stopped && (lost.size || lastRead.size) && timer === undefined) timer = timers.setTimeout(tick, pollMs);
    });
  };
  const wake = () => {
    if (timer === undefined && !inFlight && !stopped) timer = timers.setTimeout(tick, 0);
  };

  return {
    lost(peer) {
      lost.add(peer);
      wake();
    },
    heard(peer) {
      if (!lost.delete(peer)) return;
      lastRead.add(peer);
      wake();
    },
    watching: () => [...lost],
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      await inFlight;
    },
  };
}
