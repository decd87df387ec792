// The failover bench's summary: per cell (scenario × policy) the outage percentiles,
// API calls per failover and false failovers; the table printed to stdout, natkeeper's
// targets judged (✓/✗, never asserted), and an SVG strip chart of every run's outage.
import { logAxis } from '../../lib/log-axis.js';
import type { RunResult } from './outage-run.js';
import type { PolicyName, ScenarioName } from './policies/policy.js';

export interface Cell {
  scenario: ScenarioName;
  policy: PolicyName;
  /** Set when the policy cannot take part: why. */
  na?: string;
  runs: RunResult[];
}

export interface FailoverBenchResult {
  settings: Record<string, number | string>;
  policies: Record<string, string>;
  cells: Cell[];
}

export interface CellStats {
  runs: number;
  errors: number;
  notRecovered: number;
  /** Nearest-rank percentiles of the outage; a run that did not recover counts as endless. */
  p50?: number;
  p95?: number;
  max?: number;
  failovers: number;
  calls: number;
}

function rank(sorted: number[], p: number): number | undefined {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : undefined;
}

export function cellStats(c: Cell): CellStats {
  const ok = c.runs.filter((r) => !r.error);
  const outages = ok
    .filter((r) => r.outageMs !== undefined)
    .map((r) => (r.recovered ? r.outageMs! : Number.POSITIVE_INFINITY))
    .sort((a, b) => a - b);
  return {
    runs: ok.length,
    errors: c.runs.length - ok.length,
    notRecovered: ok.filter((r) => !r.recovered).length,
    p50: rank(outages, 0.5),
    p95: rank(outages, 0.95),
    max: outages.length ? outages[outages.length - 1] : undefined,
    failovers: ok.reduce((a, r) => a + r.failovers, 0),
    calls: ok.reduce((a, r) => a + r.mutatingCalls, 0),
  };
}

const QUIET: ScenarioName[] = ['no-fault', 'target-outage'];

/** natkeeper's targets from issue 4; undefined for the baselines (no targets) and empty cells. */
export function targetVerdict(c: Cell, s: CellStats): { text: string; met: boolean } | undefined {
  if (c.policy !== 'natkeeper' || c.na || s.runs === 0) return undefined;
  const le = (v: number | undefined, limit: number) => v !== undefined && v <= limit;
  switch (c.scenario) {
    case 'kill':
      return { text: 'p50 <= 1.0 s, p95 <= 2.0 s', met: le(s.p50, 1_000) && le(s.p95, 2_000) };
    case 'hung':
      return { text: 'p50 <= 1.5 s', met: le(s.p50, 1_500) };
    case 'planned':
      return { text: 'outage <= 100 ms (every run)', met: le(s.max, 100) };
    default:
      return { text: '0 failovers', met: s.failovers === 0 };
  }
}

const ms = (v: number | undefined) => (v === undefined ? '-' : Number.isFinite(v) ? `${Math.round(v)}` : 'n/r');

export function printTable(r: FailoverBenchResult, out: (line: string) => void = console.log): void {
  out('Failover: outage seen by the app hosts (ms, longest gap of 20 ms UDP probes), API calls, false failovers');
  out(`  settings: ${Object.entries(r.settings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [name, p] of Object.entries(r.policies)) out(`  ${name}: ${p}`);
  const head = ['scenario', 'policy', 'runs', 'p50', 'p95', 'max', 'not rec.', 'calls/failover', 'failovers', 'false failovers', 'target', ''];
  const w = [14, 16, 5, 7, 7, 7, 9, 15, 10, 16, 30, 2];
  const row = (cells: string[]) => out(`  ${cells.map((c, i) => (i < 2 || i >= 10 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' ')}`.trimEnd());
  row(head);
  for (const c of r.cells) {
    if (c.na) {
      row([c.scenario, c.policy, 'n/a', '', '', '', '', '', '', '', '', '']);
      out(`      n/a: ${c.na}`);
      continue;
    }
    const s = cellStats(c);
    const quiet = QUIET.includes(c.scenario);
    const perFailover = s.failovers ? (s.calls / s.failovers).toFixed(1) : s.calls ? `${s.calls} (no failover)` : '-';
    const v = targetVerdict(c, s);
    row([
      c.scenario,
      c.policy,
      `${s.runs}${s.errors ? `+${s.errors}err` : ''}`,
      quiet ? '-' : ms(s.p50),
      quiet ? '-' : ms(s.p95),
      quiet ? '-' : ms(s.max),
      quiet ? '-' : String(s.notRecovered),
      perFailover,
      String(s.failovers),
      quiet ? String(s.failovers) : '-',
      v?.text ?? '',
      v ? (v.met ? '✓' : '✗') : '',
    ]);
    for (const e of c.runs.filter((x) => x.error).slice(0, 3)) out(`      run ${e.run} error: ${e.error!.split('\n')[0]}`);
  }
  out('  (n/r: not recovered within the cap — a lower bound of the outage is in the JSON; calls/failover: mutating EC2 calls in the runs ÷ egress moves;');
  out('   false failovers: egress moves where no NAT was at fault; ✓/✗ only for natkeeper, against issue 4’s targets)');
}

const COLORS: Record<PolicyName, string> = { natkeeper: '#2ca02c', 'ping-pair': '#1f77b4', 'scheduled-check': '#d62728' };

/** Outage per run (log scale), one column per (scenario, policy) with a measured outage. */
export function outageSvg(r: FailoverBenchResult, capMs: number): string {
  const cols = r.cells.filter((c) => !c.na && !QUIET.includes(c.scenario) && c.runs.some((x) => x.outageMs !== undefined));
  const W = Math.max(480, 90 + cols.length * 70);
  const H = 360;
  const L = 60;
  const B = 70;
  const T = 40;
  const hi = Math.max(capMs * 1.5, 1_000);
  const { y, grid } = logAxis({ top: T, height: H - T - B, lo: 10, hi });
  const x = (i: number) => L + 35 + i * 70;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13">Outage per run (ms, log scale; x = not recovered within the cap)</text>`,
  ];
  out.push(...grid(L, W - 10));
  cols.forEach((c, i) => {
    const color = COLORS[c.policy];
    c.runs.forEach((run, k) => {
      if (run.outageMs === undefined) return;
      const cx = x(i) - 12 + ((k * 7) % 25);
      out.push(run.recovered ? `<circle cx="${cx}" cy="${y(run.outageMs)}" r="3" fill="${color}" fill-opacity="0.7"/>` : `<text x="${cx}" y="${y(hi) + 12}" text-anchor="middle" fill="${color}">x</text>`);
    });
    out.push(`<text x="${x(i)}" y="${H - B + 16}" text-anchor="middle">${c.scenario}</text><text x="${x(i)}" y="${H - B + 30}" text-anchor="middle" fill="${color}">${c.policy}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
