// When a demo step times out: what every agent thought of the NAT at fault, who held
// the lease, and each agent's latest controller and leadership log lines, so the
// failure message says why egress did not move, not only that it did not.
import { agentEvents, verdictOf } from './agents.js';
import { nameOf, namesIn } from './demo-placement.js';
import type { DemoContext } from './demo-scenario.js';

const EVENTS = ['verdict_transition', 'leader_elected', 'leader_lost', 'lease_yielded', 'lease_released', 'lease_lost', 'lease_store_error', 'decision', 'cycle_acted', 'cycle_failed', 'fenced_out', 'zone_action_failed', 'verify_failed', 'planned_handover', 'heartbeat_lost'];
const LINES_PER_AGENT = 12;

/** `p`, or its error with the diagnosis appended. */
export async function explained<T>(ctx: DemoContext, victim: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await diagnose(ctx, victim).catch((d: unknown) => `(no diagnosis: ${(d as Error).message})`)}`, { cause: e });
  }
}

export async function diagnose(ctx: DemoContext, victim: string): Promise<string> {
  const { lab } = ctx;
  const statuses = await ctx.fleet.statuses();
  const lease = await ctx.decisions.lease().catch((e: unknown) => `unreadable: ${(e as Error).message}`);
  const parts = [`lease in DynamoDB: ${lease && typeof lease === 'object' ? `${nameOf(lab, lease.holder)} (token ${lease.token}, expires ${new Date(lease.expiresAt).toISOString()})` : String(lease)}`];
  for (const a of ctx.fleet.agents.values()) {
    const st = statuses.get(a.id);
    const v = st ? verdictOf(st, victim) : undefined;
    const head = `--- ${nameOf(lab, a.id)}: ${a.child.exitCode !== null || a.child.signalCode !== null ? `exited (${a.child.exitCode ?? a.child.signalCode})` : st ? `verdict of ${nameOf(lab, victim)}: ${v?.state} (${namesIn(lab, v?.reason ?? '-')}); lease view ${JSON.stringify(st.lease)}` : 'not answering /status'}`;
    const lines = agentEvents(a, EVENTS).slice(-LINES_PER_AGENT).map((e) => `    ${namesIn(lab, JSON.stringify(e))}`);
    parts.push(head, ...lines);
  }
  parts.push(`--- the lab's warnings (${ctx.labWarnings.length}):`, ...ctx.labWarnings.slice(-LINES_PER_AGENT).map((l) => `    ${namesIn(lab, l)}`));
  return parts.join('\n');
}
