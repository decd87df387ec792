// The Lambda bench's summary: per scenario the outage percentiles, trigger→moved, the
// Lambda's mutating calls per failover and its invocations; the table printed to stdout
// with what the lab leaves out of AWS's timing, and an SVG of every run.
import { percentile } from '../../lib/http-load.js';
import { logAxis } from '../../lib/log-axis.js';
import type { LambdaRunResult } from './lambda-run.js';
import type { ScenarioName } from './scenarios.js';

export interface ScenarioCell {
  scenario: ScenarioName;
  runs: LambdaRunResult[];
  /** Runs that failed before a result (the lab did not get ready, a trigger was refused). */
  errors: { run: number; error: string }[];
}

export interface LambdaBenchResult {
  settings: Record<string, number | string>;
  /** What the numbers do not include: printed under the table and kept with them. */
  notes: string[];
  cells: ScenarioCell[];
}

export const NOTES = [
  'The lab delivers each event to the Lambda at once (ms). In AWS, EventBridge adds its own delivery delay (seconds) before the Lambda runs; it is not in these numbers and not faked.',
  'The Lambda runs warm, in-process. In AWS a cold start adds about 1 s to the first invocation after idle; not in these numbers.',
  'Add both to trigger→moved and to the unplanned outages (scale-in, stop) to estimate AWS; a Spot warning leaves 2 minutes, so they do not reach the planned handover.',
  'The lab answers the Lambda over loopback with its own latency per mutating call (150 ms) and ENI attach/detach delays from the flags (AWS publishes none).',
  'stop: the lab takes a stopped instance out of its group at once, so a terminate lifecycle action follows at once (AWS: at the next EC2 health check).',
];

export interface CellStats {
  runs: number;
  notRecovered: number;
  p50?: number;
  p95?: number;
  max?: number;
  movedP50?: number;
  callsPerFailover?: number;
  invocationsPerRun?: number;
  invocationP50Ms?: number;
  invocationMaxMs?: number;
  lifecycleCompleted?: string;
}

const sorted = (v: number[]) => [...v].sort((a, b) => a - b);

export function cellStats(c: ScenarioCell): CellStats {
  const runs = c.runs;
  if (!runs.length) return { runs: 0, notRecovered: 0 };
  // A run that did not recover counts as endless in the percentiles.
  const outages = sorted(runs.map((r) => (r.recovered ? r.outageMs : Number.POSITIVE_INFINITY)));
  const moved = sorted(runs.flatMap((r) => (r.triggerToMovedMs !== undefined ? [r.triggerToMovedMs] : [])));
  const durations = sorted(runs.flatMap((r) => r.invocations.flatMap((i) => (i.durationMs !== undefined ? [i.durationMs] : []))));
  const failovers = runs.reduce((a, r) => a + r.failovers, 0);
  const calls = runs.reduce((a, r) => a + r.lambdaMutatingCalls, 0);
  const withLifecycle = runs.filter((r) => r.lifecycleCompleted !== undefined);
  return {
    runs: runs.length,
    notRecovered: runs.filter((r) => !r.recovered).length,
    p50: percentile(outages, 50),
    p95: percentile(outages, 95),
    max: outages[outages.length - 1],
    ...(moved.length ? { movedP50: percentile(moved, 50) } : {}),
    ...(failovers ? { callsPerFailover: calls / failovers } : {}),
    invocationsPerRun: runs.reduce((a, r) => a + r.invocations.length, 0) / runs.length,
    ...(durations.length ? { invocationP50Ms: percentile(durations, 50), invocationMaxMs: durations[durations.length - 1] } : {}),
    ...(withLifecycle.length ? { lifecycleCompleted: `${withLifecycle.filter((r) => r.lifecycleCompleted).length}/${withLifecycle.length}` } : {}),
  };
}

const ms = (v: number | undefined) => (v === undefined ? '-' : Number.isFinite(v) ? `${Math.round(v)}` : 'n/r');

export function printTable(r: LambdaBenchResult, out: (line: string) => void = console.log): void {
  out('Lambda backstop (no agent): outage seen by zone a\'s app host (ms, longest gap of 20 ms UDP probes), trigger→ENI moved, the Lambda\'s calls and invocations');
  out(`  settings: ${Object.entries(r.settings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const head = ['scenario', 'runs', 'outage p50*', 'p95', 'max', 'not rec.', 'trigger→moved p50*', 'calls/failover', 'invocations/run', 'inv. ms p50', 'inv. ms max', 'lifecycle completed'];
  const w = [9, 6, 11, 7, 7, 9, 18, 15, 16, 12, 12, 20];
  const row = (cells: string[]) => out(`  ${cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' ')}`.trimEnd());
  row(head);
  for (const c of r.cells) {
    const s = cellStats(c);
    row([
      c.scenario,
      `${s.runs}${c.errors.length ? `+${c.errors.length}err` : ''}`,
      ms(s.p50),
      ms(s.p95),
      ms(s.max),
      String(s.notRecovered),
      ms(s.movedP50),
      s.callsPerFailover === undefined ? '-' : s.callsPerFailover.toFixed(1),
      s.invocationsPerRun === undefined ? '-' : s.invocationsPerRun.toFixed(1),
      ms(s.invocationP50Ms),
      ms(s.invocationMaxMs),
      s.lifecycleCompleted ?? 'n/a',
    ]);
    for (const e of c.errors.slice(0, 3)) out(`      run ${e.run} error: ${e.error.split('\n')[0]}`);
  }
  out('  (percentiles: rank floor(p·n) of the sorted runs; n/r: not recovered within the cap, endless in the percentiles;');
  out('   calls/failover: mutating EC2 and Auto Scaling calls signed with the Lambda\'s key ÷ egress moves; invocations: started in the window, every event of the run)');
  out('  * lab timing: the lab delivers events immediately — what AWS adds is not included:');
  for (const n of r.notes) out(`    - ${n}`);
}

/** Every run's outage (circle) and trigger→moved (diamond), ms on a log scale, one column per scenario. */
export function runsSvg(r: LambdaBenchResult, capMs: number): string {
  const cols = r.cells.filter((c) => c.runs.length);
  const W = Math.max(420, 120 + cols.length * 110);
  const H = 340;
  const L = 60;
  const B = 60;
  const T = 50;
  const hi = Math.max(capMs * 1.5, 1_000);
  const { y, grid } = logAxis({ top: T, height: H - T - B, lo: 10, hi, capAtHi: true });
  const x = (i: number) => L + 55 + i * 110;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13">Lambda backstop per run (ms, log scale; lab timing: no EventBridge delay, no cold start)</text>`,
    `<circle cx="${L + 6}" cy="34" r="3" fill="#d62728"/><text x="${L + 14}" y="38">outage (app host)</text>`,
    `<rect x="${L + 133}" y="31" width="6" height="6" transform="rotate(45 ${L + 136} 34)" fill="#1f77b4"/><text x="${L + 146}" y="38">trigger→ENI moved</text>`,
  ];
  out.push(...grid(L, W - 10));
  cols.forEach((c, i) => {
    c.runs.forEach((run, k) => {
      const dx = (k * 5) % 20;
      const cx = x(i) - 24 + dx;
      out.push(run.recovered ? `<circle cx="${cx}" cy="${y(run.outageMs)}" r="3" fill="#d62728" fill-opacity="0.7"/>` : `<text x="${cx}" y="${y(hi) + 12}" text-anchor="middle" fill="#d62728">x</text>`);
      if (run.triggerToMovedMs !== undefined) {
        const dy = y(run.triggerToMovedMs);
        const mx = x(i) + 6 + dx;
        out.push(`<rect x="${mx - 3}" y="${dy - 3}" width="6" height="6" transform="rotate(45 ${mx} ${dy})" fill="#1f77b4" fill-opacity="0.7"/>`);
      }
    });
    out.push(`<text x="${x(i)}" y="${H - B + 18}" text-anchor="middle">${c.scenario}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
