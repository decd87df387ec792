// `natkeeper failover --zone Z [--to NODE] [--for 1h]` and `natkeeper failback --zone Z`:
// manual moves, fenced. The request is checked against what the controller would plan
// with it (same observe/assess/plan as `natkeeper plan`), refused with the reason when
// unsafe, then appended to the decision log with the current fencing token; the lease
// holder's controller applies it on its next cycle (src/controller/operator-intents.ts).
// The command waits (bounded) until the controller has recorded the move.
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { planFromObservation } from '../controller/loop.js';
import { DEFAULT_FAILOVER_FOR_MS, intentsFrom, MAX_FAILOVER_FOR_MS, OPERATOR_FAILBACK, OPERATOR_FAILOVER } from '../controller/operator-intents.js';
import { indexVpc, tableVia, tablesOf } from '../domain/planner/egress.js';
import type { ZoneDecision } from '../domain/planner/index.js';
import type { DecisionEntry, DecisionRecord } from '../domain/ports/lease-store.js';
import { readSituation, type ControllerContext, type Situation } from './controller-context.js';
import { runOpsCommand, UsageError, type OpsCommand, type OpsIo } from './ops-command.js';
import { describeAction } from './plan.js';

/** Refused: the move is unsafe or impossible now (exit 1, nothing written). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "2h", "1d" → ms; a UsageError naming --for otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!(ms > 0) || ms > MAX_FAILOVER_FOR_MS) throw new UsageError(`${flag}: expected a duration like 30m, 2h or 1d (at most 7d), got ${JSON.stringify(text)}`);
  return ms;
}

function parseWait(text: string): number {
  const s = Number(text);
  if (!Number.isInteger(s) || s < 0 || s > 600) throw new UsageError(`--wait: expected whole seconds from 0 to 600, got ${JSON.stringify(text)}`);
  return s * 1_000;
}

/** The zone's decision if `entry` were in the log now (a dry run; the records are not changed). */
function decisionWith(ctx: ControllerContext, s: Situation, entry: DecisionEntry, zone: string): ZoneDecision | undefined {
  const now = Date.now();
  const seq = (s.records[0]?.seq ?? 0) + 1;
  const pretend: DecisionRecord = { ...entry, seq, token: s.records[0]?.token ?? 0, at: now };
  const vpc = structuredClone(s.vpc);
  return planFromObservation(vpc, s.verdicts.verdicts, [pretend, ...s.records], ctx.policy, now).decisions.find((d) => d.zone === zone);
}

function requireZone(s: Situation, zone: string): void {
  const known = s.vpc.zones.map((z) => z.name);
  if (!known.includes(zone)) throw new UsageError(`--zone: no zone ${JSON.stringify(zone)} with natkeeper route tables in this VPC; known: ${known.join(', ') || 'none'}`);
}

/** The node the zone's egress goes through now (the first table's), or a refusal. */
function currentVia(s: Situation, zone: string): string {
  const idx = indexVpc(s.vpc);
  const vias = tablesOf(s.vpc, zone).map((t) => tableVia(idx, t));
  const nodes = [...new Set(vias.flatMap((v) => (v.kind === 'node' ? [v.node] : [])))];
  if (nodes.length !== 1) throw new RefusedError(`zone ${zone}'s egress goes through ${nodes.length ? nodes.join(', ') : 'no NAT node'}: not one NAT to move away from`);
  return nodes[0]!;
}

async function appendFenced(ctx: ControllerContext, entry: DecisionEntry): Promise<DecisionRecord> {
  const lease = await ctx.leaseStore.current();
  if (!lease || lease.expiresAt <= Date.now()) throw new RefusedError('no controller holds the lease: nobody would carry the request out (are the agents running?)');
  // The holder's token: the request is bound to the leadership it was checked under.
  return ctx.leaseStore.append(entry, lease.token);
}

/** Waits for a controller decision about `zone` after `seq`; undefined when the wait ends. */
async function awaitDecision(ctx: ControllerContext, zone: string, seq: number, actions: readonly string[], waitMs: number): Promise<DecisionRecord | undefined> {
  const end = Date.now() + waitMs;
  while (Date.now() < end) {
    const done = (await ctx.leaseStore.history(20)).find((r) => r.seq > seq && actions.includes(r.action) && r.detail?.['zone'] === zone);
    if (done) return done;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** The decision log's holder for a request: operator:USER@HOST (userInfo() throws for a uid without a passwd entry). */
function operator(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // keep 'unknown'
  }
  return `operator:${user}@${hostname()}`;
}

async function report(ctx: ControllerContext, out: (s: string) => void, written: DecisionRecord, zone: string, actions: string[], waitMs: number, json: boolean): Promise<number> {
  const done = waitMs > 0 ? await awaitDecision(ctx, zone, written.seq, actions, waitMs) : undefined;
  if (json) {
    out(JSON.stringify({ request: written, decision: done ?? null }, null, 2));
    return waitMs > 0 && !done ? 1 : 0;
  }
  out(`request ${written.seq} written with token ${written.token}: ${written.action} zone ${zone}`);
  if (waitMs === 0) return 0;
  if (!done) {
    out(`the controller has not acted within ${waitMs / 1000} s; see natkeeper history`);
    return 1;
  }
  out(`decision ${done.seq} by ${done.holder} (token ${done.token}): ${done.action} — ${typeof done.detail?.['reason'] === 'string' ? done.detail['reason'] : ''}`);
  return 0;
}

interface FailoverOpts {
  zone: string;
  to?: string;
  for: string;
  wait: string;
}

export const failoverCommand: OpsCommand<FailoverOpts> = {
  name: 'failover',
  description: "move a zone's egress away from the NAT that carries it now (fenced; refused when unsafe)",
  options: (cmd: Command) =>
    cmd
      .requiredOption('--zone <zone>', 'the zone whose egress moves')
      .option('--to <instance-id>', 'the NAT that takes it (default: the controller picks, same zone first)')
      .option('--for <duration>', `keep egress off that NAT this long (e.g. 30m, 2h, 1d; default ${DEFAULT_FAILOVER_FOR_MS / 3_600_000}h)`, '1h')
      .option('--wait <seconds>', "wait this long for the controller's move (0: do not wait)", '30'),
  async run(ctx, opts, out) {
    const forMs = parseDuration(opts.for, '--for');
    const waitMs = parseWait(opts.wait);
    const s = await readSituation(ctx);
    requireZone(s, opts.zone);
    if (opts.to !== undefined && !s.vpc.nodes.some((n) => n.id === opts.to)) throw new UsageError(`--to: ${opts.to} is not a NAT node of this VPC; known: ${s.vpc.nodes.map((n) => n.id).join(', ')}`);
    const from = currentVia(s, opts.zone);
    if (opts.to === from) throw new RefusedError(`--to: ${from} already carries zone ${opts.zone}'s egress`);
    const entry: DecisionEntry = {
      holder: operator(),
      action: OPERATOR_FAILOVER,
      detail: { zone: opts.zone, from, until: Date.now() + forMs, ...(opts.to ? { to: opts.to } : {}) },
    };
    const d = decisionWith(ctx, s, entry, opts.zone);
    if (!d?.actions.length || !d.via || d.via === from) {
      const why = 'unavailable' in s.verdicts ? ` (verdicts unavailable: ${s.verdicts.unavailable})` : '';
      throw new RefusedError(`no healthy NAT${opts.to ? ` (${opts.to} is not usable: not running, not healthy, or leaving)` : ''} can take zone ${opts.zone}'s egress now${why}: ${d?.reason ?? 'no plan'}`);
    }
    if (!opts.json) out(`zone ${opts.zone}: ${from} → ${d.via} by ${d.strategy}:\n${d.actions.map((a, i) => `  ${i + 1}. ${describeAction(a)}`).join('\n')}`);
    const written = await appendFenced(ctx, entry);
    return report(ctx, out, written, opts.zone, ['handover', 'failover'], waitMs, opts.json);
  },
};

interface FailbackOpts {
  zone: string;
  wait: string;
}

export const failbackCommand: OpsCommand<FailbackOpts> = {
  name: 'failback',
  description: "return a zone's egress to its own NAT now, ending a manual failover (fenced; refused when unsafe)",
  options: (cmd: Command) =>
    cmd.requiredOption('--zone <zone>', 'the zone whose egress returns').option('--wait <seconds>', "wait this long for the controller's move (0: do not wait)", '30'),
  async run(ctx, opts, out) {
    const waitMs = parseWait(opts.wait);
    const s = await readSituation(ctx);
    requireZone(s, opts.zone);
    const entry: DecisionEntry = { holder: operator(), action: OPERATOR_FAILBACK, detail: { zone: opts.zone } };
    const d = decisionWith(ctx, s, entry, opts.zone);
    const moves = d?.outcome === 'failback' && d.actions.length > 0;
    // Ending a manual failover is always allowed; egress then stays where it is when the
    // zone is already served locally (an eni-move inside the zone has nothing to undo).
    const manual = intentsFrom(s.records, Date.now()).away.has(opts.zone);
    if (!moves && !manual) throw new RefusedError(`zone ${opts.zone} would not fail back now: ${d?.reason ?? 'no plan'}`);
    if (!opts.json) out(moves ? `zone ${opts.zone}: back to ${d.via} by ${d.strategy}:\n${d.actions.map((a, i) => `  ${i + 1}. ${describeAction(a)}`).join('\n')}` : `zone ${opts.zone}: ends the manual failover; egress stays where it is (${d?.reason ?? 'no plan'})`);
    const written = await appendFenced(ctx, entry);
    return report(ctx, out, written, opts.zone, ['failback'], moves ? waitMs : 0, opts.json);
  },
};

export const runFailoverCli = (argv: readonly string[], io?: OpsIo) => runOpsCommand(failoverCommand, argv, io);
export const runFailbackCli = (argv: readonly string[], io?: OpsIo) => runOpsCommand(failbackCommand, argv, io);
