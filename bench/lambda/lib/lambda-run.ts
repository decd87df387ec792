// One run of the Lambda bench: zone a's app host streams UDP probes every 20 ms, the
// scenario's trigger hits the carrier (the NAT zone a's floating ENI is on), and the run
// ends once egress is on another NAT, the app host had `settleMs` of answered probes and
// the Lambda is idle, or at `capMs` (not recovered). Read back for the window:
//   outage          longest gap between answered probes (lab/outage.ts)
//   trigger→moved   from just before the trigger's call to the ENI attached elsewhere (the lab's store)
//   calls           mutating API calls signed with the Lambda's key (EC2 and Auto Scaling)
//   invocations     the runner's records started in the window, each with the instance its event was about
import { startLiveOutageStreams, type LiveOutageStreams } from '../../../lab/outage.js';
import { isLambdaRequest } from '../../../lab/lambda-lab.js';
import { apiCalls } from '../../failover/lib/api-calls.js';
import { watchFailovers } from '../../failover/lib/failover-watch.js';
import { waitFor, sleep } from '../../failover/lib/wait.js';
import type { LambdaBenchLab } from './lambda-bench-lab.js';
import { afterMove, trigger, type ScenarioName } from './scenarios.js';

export interface InvocationSummary {
  detailType?: string;
  /** The instance the event was about (from the lab's published event). */
  instance?: string;
  trigger: string;
  attempt: number;
  /** ms after the trigger. */
  startMs: number;
  durationMs?: number;
  /** skipped / lifecycle / moved zones / error, in a few words. */
  result: string;
  mutatingCalls?: number;
}

export interface LambdaRunResult {
  run: number;
  victim: string;
  standby: string;
  recovered: boolean;
  /** Longest gap over zone a's app hosts (ms); a lower bound when not recovered. */
  outageMs: number;
  perAppMs: Record<string, number>;
  /** Trigger → ENI attached to another NAT; absent when it never moved. */
  triggerToMovedMs?: number;
  movedTo?: string;
  failovers: number;
  lambdaMutatingCalls: number;
  callsByAction: Record<string, number>;
  invocations: InvocationSummary[];
  /** For scale-in and stop: whether a Lambda invocation completed the carrier's lifecycle action. */
  lifecycleCompleted?: boolean;
  windowMs: number;
}

export interface LambdaRunOptions {
  capMs: number;
  settleMs: number;
  /** Streams started by a run, so a signal handler can stop them. */
  active: Set<LiveOutageStreams>;
}

/** What one invocation did, in a few words. */
function resultOf(o: { skipped?: string; ignored?: string; lifecycle?: { completed: boolean; reason: string }; executed?: { zone: string }[] } | undefined, error: string | undefined): string {
  if (error) return `error: ${error.split('\n')[0]}`;
  if (!o) return 'running';
  if (o.ignored) return `ignored: ${o.ignored}`;
  if (o.skipped) return `skipped: ${o.skipped}`;
  const parts = [];
  if (o.executed?.length) parts.push(`acted in ${o.executed.map((z) => z.zone).join(',')}`);
  if (o.lifecycle) parts.push(o.lifecycle.completed ? 'lifecycle completed' : `lifecycle not completed: ${o.lifecycle.reason}`);
  return parts.join('; ') || 'no action';
}

function summarizeInvocations(lbl: LambdaBenchLab, t0: number, t1: number): InvocationSummary[] {
  const instanceOf = new Map<string, string>();
  for (const e of lbl.bl.lab.events.recent()) {
    const d = e.detail as { 'instance-id'?: string; EC2InstanceId?: string };
    const id = d['instance-id'] ?? d.EC2InstanceId;
    if (id) instanceOf.set(e.id, id);
  }
  return lbl.backstop.runner
    .invocations()
    .filter((r) => r.startedAt >= t0 && r.startedAt <= t1)
    .map((r) => ({
      ...(r.detailType ? { detailType: r.detailType } : {}),
      ...(r.eventId && instanceOf.has(r.eventId) ? { instance: instanceOf.get(r.eventId)! } : {}),
      trigger: r.trigger,
      attempt: r.attempt,
      startMs: r.startedAt - t0,
      ...(r.endedAt !== undefined ? { durationMs: r.endedAt - r.startedAt } : {}),
      result: resultOf(r.outcome, r.error),
      ...(r.outcome?.mutatingCalls !== undefined ? { mutatingCalls: r.outcome.mutatingCalls } : {}),
    }));
}

export async function runLambdaScenario(lbl: LambdaBenchLab, scenario: ScenarioName, run: number, opts: LambdaRunOptions): Promise<LambdaRunResult> {
  const { bl } = lbl;
  const { carrier: victim, standby } = await lbl.ready(120_000);
  const known = new Set(bl.runningNats());
  const apps = bl.zone.appInstanceIds;
  const { echoTargets, echoPort } = bl.topology.internet;
  // Bounded by echo-client itself too: the cap, the Spot termination's second wait, and room.
  const streams = startLiveOutageStreams(bl.dp, { apps, target: echoTargets[0]!, port: echoPort, maxDurationMs: 2 * opts.capMs + 60_000 });
  opts.active.add(streams);
  const watch = watchFailovers(bl);
  let t0: number;
  let recovered: boolean;
  let t1: number;
  let perAppMs: Record<string, number>;
  try {
    await waitFor('app hosts of zone a answering before the trigger', 20_000, () => (streams.allAnsweringFor(1_000) ? true : undefined));
    t0 = Date.now();
    await trigger(scenario, { lab: bl.lab, ec2: lbl.ec2, autoscaling: lbl.backstop.autoscaling }, victim);
    const moved = () => bl.egressInstance() !== undefined && bl.egressInstance() !== victim;
    const back = () => (moved() && streams.allAnsweringFor(opts.settleMs) ? true : undefined);
    const settled = () => waitFor('egress moved and traffic back', opts.capMs, back).then(() => true, () => false);
    recovered = await settled();
    if (recovered && afterMove(scenario, bl.lab, victim)) {
      // Whatever the interruption itself costs the app hosts is part of the outage.
      await sleep(500);
      recovered = await settled();
    }
    // The window closes once the Lambda has finished with the events of this run.
    await lbl.backstop.runner.idle(30_000);
  } finally {
    watch.stop();
    t1 = Date.now();
    const summaries = streams.stop();
    opts.active.delete(streams);
    perAppMs = Object.fromEntries([...summaries].map(([app, s]) => [app, s.longestGapMs]));
  }
  const moves = watch.moves();
  const calls = apiCalls(bl.lab, t0, t1, (e) => isLambdaRequest(e) && e.mutating === true);
  const invocations = summarizeInvocations(lbl, t0, t1);
  const lifecycle = invocations.filter((i) => i.detailType === 'EC2 Instance-terminate Lifecycle Action' && i.instance === victim);
  const result: LambdaRunResult = {
    run,
    victim,
    standby,
    recovered,
    outageMs: Math.max(...Object.values(perAppMs)),
    perAppMs,
    ...(moves[0] ? { triggerToMovedMs: moves[0].at - t0, movedTo: moves[0].to } : {}),
    failovers: moves.length,
    lambdaMutatingCalls: calls.total,
    callsByAction: calls.byAction,
    invocations,
    ...(scenario !== 'spot' ? { lifecycleCompleted: lifecycle.some((i) => i.result.includes('lifecycle completed')) } : {}),
    windowMs: t1 - t0,
  };
  await lbl.restore(victim, known);
  return result;
}
