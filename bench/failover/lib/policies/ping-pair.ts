// Baseline 1, ping-pair: the decision logic of AWS's 2013 "High Availability for Amazon
// VPC NAT Instances" nat_monitor.sh, from its published parameters: the standby NAT pings
// the active NAT's private IP (Num_Pings=3, Ping_Timeout=1 s); a round with no reply at
// all is a failure and the standby takes the route (ReplaceRoute of the zone's route
// tables to itself); otherwise it waits Wait_Between_Pings=2 s. Its stop/start of the
// failed peer is left out: the lab's Auto Scaling group replaces a dead NAT instead.
// The pings run inside the standby's namespace (`ping -c 3 -W 1`); the ReplaceRoute
// calls go through the lab's EC2 API with the AWS SDK.
import type { BenchLab } from '../bench-lab.js';
import { labEc2Client, replaceZoneRoutes } from '../ec2.js';
import { startDecisionLoop } from './decision-loop.js';
import type { Policy } from './policy.js';

export const PING_PAIR = { pings: 3, timeoutS: 1, betweenRoundsMs: 2_000 } as const;

export function pingPairPolicy(bl: BenchLab, log: (line: string) => void): Policy {
  const client = labEc2Client(bl);
  /**
   * The pair watched now; the standby pings the active's IP, fixed when the pair is set (as
   * nat_monitor.sh is configured with it): a dead peer's ENI may be gone by the next round.
   * Set by ready(), cleared after a takeover.
   */
  let pair: { active: string; standby: string; ip: string } | undefined;
  /** The latest rounds, for diagnose(). */
  const rounds: string[] = [];
  const loop = startDecisionLoop(
    'ping-pair',
    async (isRunning) => {
      const p = pair;
      if (!p) return { outcome: 'idle', pauseMs: 200 };
      const { ip } = p;
      const startedAt = Date.now();
      const r = await bl.dp.exec(p.standby, ['ping', '-n', '-c', String(PING_PAIR.pings), '-W', String(PING_PAIR.timeoutS), ip], { timeoutMs: 15_000 });
      rounds.push(`${new Date(startedAt).toISOString()} ${p.standby} → ${p.active} (${ip}): exit ${r.code} after ${Date.now() - startedAt} ms: ${r.stdout.trim().split('\n').slice(-2).join(' | ')} ${r.stderr.trim()}`);
      if (rounds.length > 6) rounds.shift();
      if (!isRunning() || pair !== p) return { outcome: 'idle', pauseMs: 0 };
      // nat_monitor.sh counts reply lines ("time="): zero of them is a failure.
      const replies = (r.stdout.match(/time=/g) ?? []).length;
      if (replies > 0) return { outcome: 'healthy', pauseMs: PING_PAIR.betweenRoundsMs };
      pair = undefined;
      await replaceZoneRoutes(client, bl, p.standby);
      log(`ping-pair: no reply from ${p.active}; routes to ${p.standby}`);
      return { outcome: 'acted', pauseMs: PING_PAIR.betweenRoundsMs };
    },
    log,
  );
  return {
    name: 'ping-pair',
    parameters: `standby pings active (-c ${PING_PAIR.pings} -W ${PING_PAIR.timeoutS}), ${PING_PAIR.betweenRoundsMs / 1000} s between rounds, ReplaceRoute per table`,
    // A healthy round (3 pings, 1 s apart) and the pause.
    cycleMs: 2_000 + PING_PAIR.betweenRoundsMs,
    unsupported: (s) => (s === 'planned' ? 'no interruption signal: it learns of the Spot interruption only when the NAT stops, as in the hard-kill row' : undefined),
    ready: async () => {
      const active = bl.egressInstance();
      const standby = bl.runningNats().find((n) => n !== active);
      if (!active || !standby) throw new Error(`ping-pair: no active/standby pair in zone a (egress ${active}, running ${bl.runningNats().join(', ')})`);
      const ip = bl.lab.store.primaryInterface(active)?.privateIpAddress;
      if (!ip) throw new Error(`ping-pair: ${active} has no primary ENI`);
      pair = { active, standby, ip };
      await loop.nextHealthyRound(30_000);
    },
    diagnose: () => rounds.join('\n'),
    stop: async () => {
      await loop.stop();
      client.destroy();
    },
  };
}
