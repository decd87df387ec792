// The agent benchmark: `natkeeper agent` on zone a's two NAT nodes of a lab (default
// probe interval 200 ms, target timeouts 1000 ms, verdict k=7 of n=10, minVantages 2).
//   hung   detection time of a hung NAT (forwarding off), as seen by the other agent
//   kill   detection time of a hard-killed NAT (chaos kill; the ASG's replacement is used next)
//   loss   false unhealthy verdicts with probe loss on every target, and each agent's
//          RSS and CPU (a steady window without loss, then the loss window)
// Targets: p50/p95 detection over 20 runs; 0 false verdicts in 10 minutes at 20% loss;
// RSS <= 80 MB and CPU <= 2% of a core per agent. Needs root (network namespaces);
// every packet stays inside the lab. Each part runs in its own lab.
//
//   node dist/bench/agent/agent.js
//   env: NATKEEPER_BENCH_RUNS (20)  NATKEEPER_BENCH_LOSS_SECONDS (600)
//        NATKEEPER_BENCH_STEADY_SECONDS (60)  NATKEEPER_BENCH_LOSS_PCT (20)
//        NATKEEPER_BENCH_PARTS (hung,kill,loss)  NATKEEPER_BENCH_MIN_STABLE_MS (agent default, 10000)
//        NATKEEPER_BENCH_MIN_VANTAGES (agent default, 2)  NATKEEPER_BENCH_DETECT_TIMEOUT_MS (30000)
//        NATKEEPER_BENCH_POLL_MS (50)
//
// Prints a table and writes bench/out/agent/agent.json and bench/out/agent/detection.svg.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canUseNetns } from '../../lab/netns/dataplane.js';
import { isMainModule } from '../lib/cli.js';
import { startAgentLab, type AgentLab, type AgentLabOptions } from './lib/agent-lab.js';
import { measureHung, measureKill, type DetectionOptions } from './lib/detection.js';
import { measureLoss } from './lib/loss-run.js';
import { detectionStats, detectionSvg, printTable, type AgentBenchResult } from './lib/report.js';

function envNumber(name: string, fallback: number): number;
function envNumber(name: string): number | undefined;
function envNumber(name: string, fallback?: number): number | undefined {
  const raw = process.env[name];
  const v = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(v) ? v : fallback;
}

async function inLab<T>(opts: AgentLabOptions, fn: (al: AgentLab) => Promise<T>): Promise<T> {
  const al = await startAgentLab(opts);
  try {
    return await fn(al);
  } finally {
    await al.close();
  }
}

export async function run(): Promise<AgentBenchResult> {
  const runs = Math.max(1, Math.min(200, envNumber('NATKEEPER_BENCH_RUNS', 20)));
  const parts = new Set((process.env.NATKEEPER_BENCH_PARTS ?? 'hung,kill,loss').split(',').map((p) => p.trim()));
  const minStableMs = envNumber('NATKEEPER_BENCH_MIN_STABLE_MS');
  const minVantages = envNumber('NATKEEPER_BENCH_MIN_VANTAGES');
  const labOpts: AgentLabOptions = { ...(minStableMs !== undefined ? { minStableMs } : {}), ...(minVantages !== undefined ? { minVantages } : {}) };
  const detect: DetectionOptions = {
    runs,
    timeoutMs: envNumber('NATKEEPER_BENCH_DETECT_TIMEOUT_MS', 30_000),
    pollMs: envNumber('NATKEEPER_BENCH_POLL_MS', 50),
    settleTimeoutMs: 60_000 + (minStableMs ?? 10_000),
    log: (line) => console.log(`  ${line}`),
  };
  const loss = {
    steadySeconds: Math.max(1, envNumber('NATKEEPER_BENCH_STEADY_SECONDS', 60)),
    lossSeconds: Math.max(1, envNumber('NATKEEPER_BENCH_LOSS_SECONDS', 600)),
    lossPct: envNumber('NATKEEPER_BENCH_LOSS_PCT', 20),
    settleTimeoutMs: detect.settleTimeoutMs,
  };
  const result: AgentBenchResult = {
    settings: {
      runs,
      minStableMs: minStableMs ?? 'default (10000)',
      minVantages: minVantages ?? 'default (2)',
      detectTimeoutMs: detect.timeoutMs,
      pollMs: detect.pollMs,
      lossPct: loss.lossPct,
      steadySeconds: loss.steadySeconds,
      lossSeconds: loss.lossSeconds,
    },
  };
  if (parts.has('hung')) {
    const r = await inLab(labOpts, (al) => measureHung(al, detect));
    result.hung = { runs: r, wall: detectionStats(r, 'wallMs'), since: detectionStats(r, 'sinceMs') };
  }
  if (parts.has('kill')) {
    const r = await inLab(labOpts, (al) => measureKill(al, detect));
    result.kill = { runs: r, wall: detectionStats(r, 'wallMs'), since: detectionStats(r, 'sinceMs') };
  }
  if (parts.has('loss')) result.loss = await inLab(labOpts, (al) => measureLoss(al, loss));
  return result;
}

if (isMainModule(import.meta.url)) {
  const can = await canUseNetns();
  if (!can.ok) {
    console.log(`agent: skipped (${can.reason})`);
  } else {
    const result = await run();
    printTable(result);
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/out/agent');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'agent.json'), `${JSON.stringify(result, null, 2)}\n`);
    if (result.hung || result.kill) writeFileSync(join(dir, 'detection.svg'), detectionSvg(result));
    console.log(`  wrote ${dir}/agent.json${result.hung || result.kill ? ' and detection.svg' : ''}`);
  }
}
