// One run of an outage scenario: app hosts stream UDP probes every 20 ms, the fault hits
// zone a's active NAT (the instance its egress goes through) at a random point of the
// policy's decision cycle, and the run ends once the
// zone's egress has moved to another NAT and every app host has had `settleMs` of
// answered probes, or at `capMs` (not recovered). The outage of a run is the longest
// gap between answered probes over every app host (from the last packet before to the
// first packet after). Faults:
//   kill     the lab's chaos kill (links down, processes killed; EC2 shows it stopped after 3 s)
//   hung     net.ipv4.ip_forward=0 inside the NAT: it runs and answers pings, forwards nothing
//   planned  a Spot interruption warning; once egress has moved, the instance is terminated
//            (the interruption's action, brought forward from AWS's 2 minutes)
// Restores, outside the measured window: hung → forwarding back on; kill / planned → the
// ASG's replacement must be up (the policy picks it up in its next ready()).
import { startLiveOutageStreams } from '../../../lab/outage.js';
import { mutatingEc2Calls } from './api-calls.js';
import type { BenchLab } from './bench-lab.js';
import { watchFailovers } from './failover-watch.js';
import type { Policy, ScenarioName } from './policies/policy.js';
import { sleep, waitFor } from './wait.js';

export interface RunResult {
  run: number;
  /** The NAT the fault hit. */
  victim?: string;
  /** Longest gap over every app host (ms); a lower bound when not recovered. */
  outageMs?: number;
  recovered: boolean;
  perAppMs?: Record<string, number>;
  /** Egress moves of zone a in the window. */
  failovers: number;
  moves?: { atMs: number; from: string; to: string }[];
  mutatingCalls: number;
  callsByAction?: Record<string, number>;
  /** Fault → end of the window. */
  windowMs?: number;
  error?: string;
  /** The policy's own account of a run that did not recover. */
  diagnosis?: string;
}

export interface OutageRunOptions {
  capMs: number;
  settleMs: number;
  log: (line: string) => void;
}

const OUTAGE_FAULTS = ['kill', 'hung', 'planned'] as const;
export type OutageScenario = (typeof OUTAGE_FAULTS)[number];
export const isOutageScenario = (s: ScenarioName): s is OutageScenario => (OUTAGE_FAULTS as readonly string[]).includes(s);

async function inject(bl: BenchLab, scenario: OutageScenario, victim: string): Promise<void> {
  if (scenario === 'kill') await bl.lab.chaos.run({ verb: 'kill', instance: victim });
  else if (scenario === 'planned') await bl.lab.chaos.run({ verb: 'spot-interrupt', instance: victim, action: 'terminate' });
  else {
    const r = await bl.dp.exec(victim, ['sysctl', '-qw', 'net.ipv4.ip_forward=0'], { timeoutMs: 5_000 });
    if (r.code !== 0) throw new Error(`sysctl in ${victim}: ${r.stderr}`);
  }
}

async function restore(bl: BenchLab, scenario: OutageScenario, victim: string, known: Set<string>): Promise<void> {
  if (scenario === 'hung') {
    await bl.dp.exec(victim, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'], { timeoutMs: 5_000 });
    return;
  }
  const st = bl.lab.store.instances.get(victim)?.state;
  if (scenario === 'planned' && (st === 'running' || st === 'pending')) bl.lab.store.terminateInstance(victim, 'failover bench: the Spot interruption, brought forward');
  await bl.waitReplacement(known, 90_000);
  // A policy that never moved egress leaves the zone on a dead NAT: the next run starts from a running one.
  const egress = bl.egressInstance();
  if (!egress || bl.lab.store.instances.get(egress)?.state !== 'running') bl.pointZoneAt(bl.runningNats()[0]!);
}

export async function runOutage(bl: BenchLab, policy: Policy, scenario: OutageScenario, run: number, opts: OutageRunOptions): Promise<RunResult> {
  await policy.ready();
  const victim = bl.egressInstance();
  const known = new Set(bl.runningNats());
  if (!victim || known.size < 2) throw new Error(`zone a needs an active NAT and a standby (egress ${victim}, running ${[...known].join(', ')})`);
  const { echoTargets, echoPort } = bl.topology.internet;
  const streams = startLiveOutageStreams(bl.dp, { apps: bl.apps, target: echoTargets[0]!, port: echoPort, maxDurationMs: opts.capMs + 60_000 });
  const watch = watchFailovers(bl);
  let t0 = Date.now();
  let recovered: boolean;
  try {
    await waitFor('every app host answering before the fault', 20_000, () => (streams.allAnsweringFor(1_000) ? true : undefined));
    await sleep(Math.random() * policy.cycleMs);
    t0 = Date.now();
    await inject(bl, scenario, victim);
    const moved = () => bl.egressInstance() !== undefined && bl.egressInstance() !== victim;
    const back = () => (moved() && streams.allAnsweringFor(opts.settleMs) ? true : undefined);
    recovered = await waitFor('egress moved and traffic back', opts.capMs, back).then(
      () => true,
      () => false,
    );
    if (recovered && scenario === 'planned') {
      // The interruption happens now (AWS: 2 minutes after the warning); whatever it costs the apps is part of the outage.
      bl.lab.store.terminateInstance(victim, 'failover bench: the Spot interruption, brought forward');
      await sleep(500);
      recovered = await waitFor('traffic after the interruption', opts.capMs, back).then(
        () => true,
        () => false,
      );
    }
  } finally {
    watch.stop();
  }
  const t1 = Date.now();
  const summaries = streams.stop();
  const perAppMs = Object.fromEntries([...summaries].map(([app, s]) => [app, s.longestGapMs]));
  const calls = mutatingEc2Calls(bl.lab, t0, t1);
  const moves = watch.moves().map((m) => ({ atMs: m.at - t0, from: m.from, to: m.to }));
  const result: RunResult = {
    run,
    victim,
    outageMs: Math.max(...Object.values(perAppMs)),
    recovered,
    perAppMs,
    failovers: moves.length,
    moves,
    mutatingCalls: calls.total,
    callsByAction: calls.byAction,
    windowMs: t1 - t0,
    ...(!recovered && policy.diagnose ? { diagnosis: policy.diagnose() } : {}),
  };
  if (result.diagnosis) opts.log(`${scenario} ${run} ${policy.name} not recovered; policy log tail:\n${result.diagnosis}`);
  await restore(bl, scenario, victim, known);
  return result;
}
