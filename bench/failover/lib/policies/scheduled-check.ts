// Baseline 2, scheduled connectivity check: the decision logic of alterNAT's
// connectivity tester (chime/terraform-aws-alternat, the Lambda in the private subnet),
// from its published parameters: every CONNECTIVITY_CHECK_INTERVAL=5 s it tries its
// CHECK_URLS (two) one after the other with REQUEST_TIMEOUT=5 s; any success is healthy;
// when all fail it replaces the zone's routes to the fallback (alterNAT: the zone's NAT
// Gateway; the lab has none, so the zone's standby NAT instance). It does not fail back.
// The checks run inside zone a's app host (a private subnet): a TCP connection to a lab
// echo target that must answer (the lab's internet serves echo over TCP, not HTTP).
import { distScript } from '../../../../lab/netns/paths.js';
import type { BenchLab } from '../bench-lab.js';
import { labEc2Client, replaceZoneRoutes } from '../ec2.js';
import { startDecisionLoop } from './decision-loop.js';
import type { Policy } from './policy.js';

export const SCHEDULED_CHECK = { urls: 2, intervalMs: 5_000, timeoutMs: 5_000 } as const;

export function scheduledCheckPolicy(bl: BenchLab, log: (line: string) => void): Policy {
  const client = labEc2Client(bl);
  const app = bl.zone.appInstanceIds[0]!;
  const { echoTargets, echoPort } = bl.topology.internet;
  const targets = echoTargets.slice(0, SCHEDULED_CHECK.urls);
  const echoClient = distScript('echo-client');
  /** Where routes go on failure; chosen by ready() as the zone's other running NAT. */
  let fallback: string | undefined;
  const check = async (target: string) => {
    const r = await bl.dp.exec(app, [process.execPath, echoClient, '--target', target, '--port', String(echoPort), '--proto', 'tcp', '--timeout', String(SCHEDULED_CHECK.timeoutMs)], {
      timeoutMs: SCHEDULED_CHECK.timeoutMs + 5_000,
    });
    return r.code === 0;
  };
  const loop = startDecisionLoop(
    'scheduled-check',
    async (isRunning) => {
      const to = fallback;
      if (!to) return { outcome: 'idle', pauseMs: 200 };
      let ok = false;
      for (const t of targets) if ((ok = await check(t))) break;
      if (!isRunning()) return { outcome: 'idle', pauseMs: 0 };
      // alterNAT replaces the route on every failed check, even when it already points at the fallback.
      if (!ok) {
        await replaceZoneRoutes(client, bl, to);
        log(`scheduled-check: every check failed; routes to ${to}`);
      }
      return { outcome: ok ? 'healthy' : 'acted', pauseMs: SCHEDULED_CHECK.intervalMs };
    },
    log,
  );
  return {
    name: 'scheduled-check',
    parameters: `${targets.length} TCP echo checks from the app host, one after the other, ${SCHEDULED_CHECK.timeoutMs / 1000} s timeout, every ${SCHEDULED_CHECK.intervalMs / 1000} s; all fail → ReplaceRoute per table to the fallback`,
    // The interval and a passing check (about half a second: a node process in the app host).
    cycleMs: SCHEDULED_CHECK.intervalMs + 500,
    unsupported: (s) => (s === 'planned' ? 'no interruption signal: it learns of the Spot interruption only when the NAT stops, as in the hard-kill row' : undefined),
    ready: async () => {
      const active = bl.egressInstance();
      fallback = bl.runningNats().find((n) => n !== active);
      if (!active || !fallback) throw new Error(`scheduled-check: no fallback NAT in zone a (egress ${active}, running ${bl.runningNats().join(', ')})`);
      await loop.nextHealthyRound(45_000);
    },
    stop: async () => {
      await loop.stop();
      client.destroy();
    },
  };
}
