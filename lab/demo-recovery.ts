// What follows each failover in the demo, waited for (bounded) and shown as it happens:
// the Auto Scaling group replacing a killed NAT (and its agent joining as the zone's new
// standby), a repaired NAT getting its zone's egress back (failback), and what becomes of
// a Spot-interrupted NAT.
import { verdictOf } from './agents.js';
import { describeZoneEgress, nameOf, zoneEgress } from './demo-placement.js';
import type { DemoContext } from './demo-scenario.js';
import { until } from './demo-wait.js';
import { explained } from './demo-diagnose.js';
import type { ZoneManifest } from './topology/build.js';

const REPLACEMENT_TIMEOUT_MS = 90_000;
const FAILBACK_TIMEOUT_MS = 90_000;

/** Every live agent's verdict of `node` is healthy (the lease holder's among them). */
async function seenHealthyByAll(ctx: DemoContext, node: string): Promise<boolean> {
  const ss = await ctx.fleet.statuses();
  return ss.size > 0 && ss.has(node) && [...ss.values()].every((s) => verdictOf(s, node)?.state === 'healthy');
}

/** The killed NAT leaves running, its group launches a replacement, whose agent starts and is found healthy. */
export async function awaitReplacement(ctx: DemoContext, zone: ZoneManifest, killed: string, known: ReadonlySet<string>): Promise<{ instanceId: string; afterMs: number }> {
  const { lab, out } = ctx;
  const t0 = Date.now();
  const state = await until(`${nameOf(lab, killed)} to leave running`, () => {
    const s = lab.store.instances.get(killed)?.state;
    return s && s !== 'running' ? s : undefined;
  }, REPLACEMENT_TIMEOUT_MS);
  out.say(`  ${out.elapsed()} EC2 shows ${nameOf(lab, killed)} ${state} (EC2 notices a dead host after a few seconds); its Auto Scaling group launches a replacement after its replacement delay`);
  const fresh = await until(`the Auto Scaling group's replacement for ${nameOf(lab, killed)}`, () =>
    lab.store.instances.values().find((i) => i.role === 'nat' && i.availabilityZone === zone.availabilityZone && !known.has(i.instanceId) && i.state === 'running')?.instanceId,
  REPLACEMENT_TIMEOUT_MS);
  out.say(`  ${out.elapsed()} the ASG launched ${nameOf(lab, fresh)} (${fresh}); an agent starts on it as its user data would`);
  await explained(ctx, fresh, until(`${nameOf(lab, fresh)} healthy in every agent's view`, () => seenHealthyByAll(ctx, fresh), REPLACEMENT_TIMEOUT_MS));
  const afterMs = Date.now() - t0;
  out.say(`  ${out.elapsed()} RECOVERED: ${nameOf(lab, fresh)} is healthy in every agent's view ${(afterMs / 1000).toFixed(1)} s after the move; it is zone ${zone.name}'s standby now, egress stays ${describeZoneEgress(lab, zoneEgress(lab, zone))}`);
  return { instanceId: fresh, afterMs };
}

/** After `repair`, the NAT is found healthy again and, after controller.failbackAfterMs, the zone's egress comes back to it. */
export async function awaitFailback(ctx: DemoContext, zone: ZoneManifest, nat: string, repair: () => Promise<string>): Promise<{ healthyMs: number; failbackMs: number; strategy: string }> {
  const { lab, out } = ctx;
  const seq0 = await ctx.decisions.lastSeq();
  const t0 = Date.now();
  out.say(`  ${out.elapsed()} REPAIR: ${await repair()}`);
  await explained(ctx, nat, until(`${nameOf(lab, nat)} healthy again in every agent's view`, () => seenHealthyByAll(ctx, nat), FAILBACK_TIMEOUT_MS));
  const healthyMs = Date.now() - t0;
  out.say(`  ${out.elapsed()} ${nameOf(lab, nat)} healthy again after ${(healthyMs / 1000).toFixed(1)} s (probes pass for verdict.minStableMs); failback waits for controller.failbackAfterMs`);
  const records = await explained(ctx, nat, until(`zone ${zone.name}'s failback to ${nameOf(lab, nat)}`, async () => {
    if (zoneEgress(lab, zone).natId !== nat) return undefined;
    const recs = (await ctx.decisions.since(seq0)).filter((r) => r.detail?.['zone'] === zone.name && r.action === 'failback');
    return recs.length ? recs : undefined;
  }, FAILBACK_TIMEOUT_MS));
  const failbackMs = Date.now() - t0;
  for (const r of records) for (const line of ctx.decisions.describe(r)) out.say(`    ${line}`);
  out.say(`  ${out.elapsed()} FAILED BACK ${(failbackMs / 1000).toFixed(1)} s after the repair: ${describeZoneEgress(lab, zoneEgress(lab, zone))}`);
  return { healthyMs, failbackMs, strategy: records.map((r) => ctx.decisions.strategyOf(r)).join(' + ') };
}

/** A Spot-interrupted NAT: egress already moved; EC2 ends it when the notice's time comes. */
export function describeSpotAftermath(ctx: DemoContext, zone: ZoneManifest, nat: string): void {
  const { lab, out } = ctx;
  const notice = lab.notices.spotNotice(nat);
  const when = notice ? new Date(notice.at).toISOString().slice(11, 19) : 'in two minutes';
  out.say(`  ${out.elapsed()} ${nameOf(lab, nat)} still runs until ${when} UTC (the two-minute warning), then EC2 ${notice?.action ?? 'terminate'}s it and the ASG replaces it; no failback is needed: zone ${zone.name} stays ${describeZoneEgress(lab, zoneEgress(lab, zone))}. The demo does not wait for that.`);
}
