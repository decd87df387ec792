// The agent bench's summary: percentiles of detection runs, the table printed to stdout,
// and an SVG chart of detection time per run (hung and kill, wall and verdict `since`).

import type { DetectionRun } from './detection.js';
import type { LossResult, WindowResult } from './loss-run.js';

export interface DetectionStats {
  runs: number;
  detected: number;
  notDetected: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export interface AgentBenchResult {
  settings: Record<string, number | string>;
  hung?: { runs: DetectionRun[]; wall: DetectionStats; since: DetectionStats };
  kill?: { runs: DetectionRun[]; wall: DetectionStats; since: DetectionStats };
  loss?: LossResult;
}

/** Nearest-rank percentile. */
function q(sorted: number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : null;
}

export function detectionStats(runs: DetectionRun[], key: 'wallMs' | 'sinceMs'): DetectionStats {
  const v = runs.map((r) => r[key]).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return { runs: runs.length, detected: v.length, notDetected: runs.length - v.length, p50: q(v, 0.5), p95: q(v, 0.95), max: v.length ? v[v.length - 1]! : null };
}

const cell = (v: number | string | null, w: number) => String(v ?? '-').padStart(w);

export function printTable(r: AgentBenchResult): void {
  const s = r.settings;
  console.log(`Agent: detection time, false verdicts under probe loss, resources (zone a's two NAT agents in the lab)`);
  console.log(`  settings: ${Object.entries(s).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  ${'detection (ms from fault)'.padEnd(32)} ${cell('runs', 5)} ${cell('p50', 7)} ${cell('p95', 7)} ${cell('max', 7)} ${cell('not detected', 13)}`);
  for (const [name, d] of [
    ['hung NAT', r.hung],
    ['hard kill', r.kill],
  ] as const) {
    if (!d) continue;
    for (const [what, st] of [
      ['first poll seeing it', d.wall],
      ['verdict since', d.since],
    ] as const)
      console.log(`  ${`${name}: ${what}`.padEnd(32)} ${cell(st.runs, 5)} ${cell(st.p50, 7)} ${cell(st.p95, 7)} ${cell(st.max, 7)} ${cell(st.notDetected, 13)}`);
  }
  if (r.loss) {
    const row = (name: string, w: WindowResult) => {
      const rss = Math.max(...w.usage.map((u) => u.maxRssMb));
      const cpu = w.usage.map((u) => u.cpuPctMean);
      const mean = (v: number[]) => Math.round((v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)) * 100) / 100;
      const cpuMean = mean(cpu);
      const childMean = mean(w.usage.map((u) => u.childCpuPctMean));
      console.log(
        `  ${name.padEnd(32)} ${cell(w.seconds, 7)} ${cell(w.lossPct, 7)} ${cell(w.unhealthySeen, 10)} ${cell(w.unhealthyTransitionsMetric, 10)} ${cell(w.internetUnreachableSeen, 8)} ${cell(w.dropped, 8)} ${cell(rss, 8)} ${cell(cpuMean, 8)} ${cell(Math.max(...cpu), 8)} ${cell(childMean, 9)}`,
      );
    };
    console.log(`  ${'window'.padEnd(32)} ${cell('s', 7)} ${cell('loss %', 7)} ${cell('unhealthy', 10)} ${cell('metric', 10)} ${cell('inet-un', 8)} ${cell('dropped', 8)} ${cell('RSS MB', 8)} ${cell('CPU %', 8)} ${cell('CPU max', 8)} ${cell('child CPU', 9)}`);
    row('steady (no loss)', r.loss.steady);
    row('probe loss', r.loss.loss);
    console.log(`  (unhealthy: verdict changes to unhealthy seen in /status; metric: natkeeper_verdict_transitions_total{to="unhealthy"} increase; RSS: max over both agents; CPU: mean of the agents' mean % of one core, max: the busier agent; child CPU: commands the agents ran, not in CPU %)`);
    for (const e of r.loss.loss.events.slice(0, 20)) console.log(`    ${e}`);
  }
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  if (r.loss) {
    const w = r.loss.loss;
    const rss = Math.max(...w.usage.map((u) => u.maxRssMb), ...r.loss.steady.usage.map((u) => u.maxRssMb));
    const cpu = Math.max(...w.usage.map((u) => u.cpuPctMean), ...r.loss.steady.usage.map((u) => u.cpuPctMean));
    console.log(`  targets: 0 false unhealthy under ${w.lossPct}% loss: ${verdict(w.unhealthySeen === 0 && w.unhealthyTransitionsMetric === 0)}; RSS <= 80 MB: ${verdict(rss <= 80)}; CPU <= 2% of a core (each agent): ${verdict(cpu <= 2)}`);
  }
}

/** Detection time per run: one series per fault and measure. */
export function detectionSvg(r: AgentBenchResult): string {
  const series = [
    { name: 'hung: first poll', color: '#1f77b4', runs: r.hung?.runs ?? [], key: 'wallMs' as const },
    { name: 'hung: verdict since', color: '#aec7e8', runs: r.hung?.runs ?? [], key: 'sinceMs' as const },
    { name: 'kill: first poll', color: '#d62728', runs: r.kill?.runs ?? [], key: 'wallMs' as const },
    { name: 'kill: verdict since', color: '#ff9896', runs: r.kill?.runs ?? [], key: 'sinceMs' as const },
  ].filter((s) => s.runs.length);
  const W = 640;
  const H = 320;
  const L = 60;
  const B = 40;
  const nRuns = Math.max(1, ...series.map((s) => s.runs.length));
  const maxMs = Math.max(1_000, ...series.flatMap((s) => s.runs.map((x) => x[s.key] ?? 0)));
  const top = Math.ceil(maxMs / 1_000) * 1_000;
  const x = (run: number) => L + ((run - 0.5) / nRuns) * (W - L - 20);
  const y = (ms: number) => H - B - (ms / top) * (H - B - 20);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<text x="${W / 2}" y="14" text-anchor="middle">Detection time per run (ms from fault; x = not detected)</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="20" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
  for (let t = 0; t <= top; t += top / 5) out.push(`<text x="${L - 4}" y="${y(t) + 4}" text-anchor="end">${Math.round(t)}</text><line x1="${L}" y1="${y(t)}" x2="${W - 10}" y2="${y(t)}" stroke="#eee"/>`);
  for (let i = 1; i <= nRuns; i++) out.push(`<text x="${x(i)}" y="${H - B + 14}" text-anchor="middle">${i}</text>`);
  out.push(`<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">run</text>`);
  series.forEach((s, k) => {
    out.push(`<rect x="${L + 10 + k * 140}" y="26" width="10" height="10" fill="${s.color}"/><text x="${L + 24 + k * 140}" y="35">${s.name}</text>`);
    for (const run of s.runs) {
      const v = run[s.key];
      out.push(v === undefined ? `<text x="${x(run.run)}" y="${y(0) - 4}" text-anchor="middle" fill="${s.color}">x</text>` : `<circle cx="${x(run.run)}" cy="${y(v)}" r="3.5" fill="${s.color}"/>`);
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
