// One failure scenario of the demo, measured the same way each time: 20 ms UDP streams
// from the zone's app hosts (lab/outage.ts), the fault, then waiting (bounded) until the
// controller's decision for the zone is in the log and EC2 shows the zone's egress on
// another NAT. It prints the detection (the first agent log line that shows it), the
// plan and actions (the decision log), the egress-moving calls EC2 received, and the
// outage each app host saw (its longest gap between answers).
import type { RunningLab } from './lab.js';
import type { ZoneManifest } from './topology/build.js';
import { agentEvents, type AgentLogEvent } from './agents.js';
import type { DemoConsole } from './demo-console.js';
import { EGRESS_ACTIONS, type DecisionLog } from './demo-decisions.js';
import type { AgentFleet } from './demo-fleet.js';
import { describeZoneEgress, nameOf, namesIn, ownerOfPublicIp, zoneEgress } from './demo-placement.js';
import { outageOf, startOutageStreams } from './outage.js';
import { until } from './demo-wait.js';
import { explained } from './demo-diagnose.js';

/** How long the outage streams run: the fault comes 1 s in; detection and the move take seconds. */
const OUTAGE_WINDOW_MS = 20_000;
const LEAD_IN_MS = 1_000;
/** Bound on fault → egress moved. */
const MOVE_TIMEOUT_MS = 60_000;

export interface DemoContext {
  lab: RunningLab;
  fleet: AgentFleet;
  out: DemoConsole;
  decisions: DecisionLog;
  target: string;
  port: number;
  /** The lab's own warnings (its logger at warn level), for a failure's diagnosis. */
  labWarnings: readonly string[];
}

export interface Scenario {
  title: string;
  zone: ZoneManifest;
  /** The NAT the fault hits. */
  victim: string;
  /** Injects the fault; says what was done. */
  inject(): Promise<string>;
  /** Agent log events that show the fault was noticed (the first one counts); `agentId` is whose log it is. */
  detectedBy(e: AgentLogEvent, agentId: string): boolean;
}

export interface ScenarioResult {
  title: string;
  zone: string;
  victim: string;
  detectedMs: number | undefined;
  strategy: string;
  /** Egress-moving calls EC2 answered between the fault and the move (retries included). */
  calls: number;
  movedMs: number;
  /** The longest gap any of the zone's app hosts saw (ms). */
  outageMs: number;
  /** Where the zone's egress went. */
  movedTo: string;
}

const DETECTION_EVENTS = ['verdict_transition', 'planned_handover'];

interface Detection {
  at: number;
  /** Whose log it is. */
  by: string;
  e: AgentLogEvent;
}

function firstDetection(ctx: DemoContext, s: Scenario, since: number): Detection | undefined {
  let first: Detection | undefined;
  for (const a of ctx.fleet.agents.values())
    for (const e of agentEvents(a, DETECTION_EVENTS)) {
      const at = Date.parse(e.time);
      if (at >= since && s.detectedBy(e, a.id) && (!first || at < first.at)) first = { at, by: a.id, e };
    }
  return first;
}

function describeDetection(ctx: DemoContext, d: Detection): string {
  const by = nameOf(ctx.lab, d.by);
  if (d.e.event === 'planned_handover') return `${by}'s agent read the notice from IMDS and announced a handover (${JSON.stringify({ reason: d.e['reason'], deadline: d.e['deadline'] })})`;
  return `${by}'s agent: verdict of ${nameOf(ctx.lab, String(d.e['node']))} ${String(d.e['from'])} → ${String(d.e['to'])} (${namesIn(ctx.lab, String(d.e['reason']))})`;
}

export async function runScenario(ctx: DemoContext, s: Scenario): Promise<ScenarioResult> {
  const { lab, out } = ctx;
  const dp = lab.dataPlane!;
  const seq0 = await ctx.decisions.lastSeq();
  const leaseBefore = await ctx.decisions.lease();
  const streams = startOutageStreams(dp, { apps: s.zone.appInstanceIds, target: ctx.target, port: ctx.port, durationMs: OUTAGE_WINDOW_MS });
  try {
    out.say(`  ${out.elapsed()} app hosts of zone ${s.zone.name} send a UDP probe every 20 ms for ${OUTAGE_WINDOW_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, LEAD_IN_MS));
    const t0 = Date.now();
    out.say(`  ${out.elapsed()} FAULT: ${await s.inject()}`);

    // Detection is printed as soon as an agent logs it; the wait ends when EC2 shows the move.
    let detection: Detection | undefined;
    const records = await explained(ctx, s.victim, until(
      `zone ${s.zone.name}'s egress off ${nameOf(lab, s.victim)} (decision logged, EC2 shows the move)`,
      async () => {
        if (!detection && (detection = firstDetection(ctx, s, t0))) out.say(`  ${out.elapsed()} DETECTED after ${((detection.at - t0) / 1000).toFixed(1)} s: ${describeDetection(ctx, detection)}`);
        const e = zoneEgress(lab, s.zone);
        if (!e.natId || e.natId === s.victim) return undefined;
        const recs = (await ctx.decisions.since(seq0)).filter((r) => r.detail?.['zone'] === s.zone.name);
        return recs.length ? recs : undefined;
      },
      MOVE_TIMEOUT_MS,
    ));
    const movedMs = Date.now() - t0;
    detection ??= firstDetection(ctx, s, t0);
    if (!detection) out.say(`  ${out.elapsed()} DETECTED: no agent log line showed it before the move`);
    const first = records[0]!;
    if (leaseBefore && (leaseBefore.holder !== first.holder || leaseBefore.token !== first.token))
      out.say(`  ${out.elapsed()} LEADERSHIP moved from ${nameOf(lab, leaseBefore.holder)} (token ${leaseBefore.token}) to ${nameOf(lab, first.holder)} (token ${first.token}) before the decision`);
    out.say(`  ${out.elapsed()} PLAN and ACTIONS (decision log in DynamoDB):`);
    for (const r of records) for (const line of ctx.decisions.describe(r)) out.say(`    ${line}`);
    const calls = lab.api.requestLog.entries().filter((c) => c.time >= t0 && c.action && EGRESS_ACTIONS.has(c.action));
    out.say(`  ${out.elapsed()} EC2 received ${calls.length} egress-moving call(s): ${calls.map((c) => `${c.action} (${c.status})`).join(', ') || 'none'}`);
    const egress = zoneEgress(lab, s.zone);
    out.say(`  ${out.elapsed()} EGRESS MOVED after ${(movedMs / 1000).toFixed(1)} s: ${describeZoneEgress(lab, egress)}`);

    const summaries = await streams.done;
    let outageMs = 0;
    for (const app of s.zone.appInstanceIds) {
      const r = summaries.get(app);
      const gap = outageOf(r);
      outageMs = Math.max(outageMs, gap);
      const moves = r && !(r instanceof Error) ? r.transitions.map((t) => `${t.from} (${ownerOfPublicIp(lab, t.from)}) → ${t.to} (${ownerOfPublicIp(lab, t.to)})`).join(', ') : '';
      const detail = r instanceof Error ? r.message : `${r?.lost} of ${r?.sent} probes lost; ${moves ? `source moved ${moves}` : 'source did not change'}`;
      out.say(`  ${out.elapsed()} OUTAGE seen by ${nameOf(lab, app)}: ${Number.isFinite(gap) ? `${Math.round(gap)} ms` : 'unknown'} (${detail})`);
    }
    return {
      title: s.title,
      zone: s.zone.name,
      victim: nameOf(lab, s.victim),
      detectedMs: detection ? detection.at - t0 : undefined,
      strategy: [...new Set(records.map((r) => ctx.decisions.strategyOf(r)))].join(' + '),
      calls: calls.length,
      movedMs,
      outageMs,
      movedTo: describeZoneEgress(lab, egress),
    };
  } finally {
    streams.abort(); // a no-op once they ended; on a failure, no stream outlives the scenario
  }
}
