// The failover benchmark (issue 4): the outage app hosts see when zone a's active NAT
// fails, with natkeeper (real agents) and two baseline decision policies run by the
// harness from their published parameters (ping-pair, scheduled connectivity check),
// each in a lab of its own, one after the other in the same bench run. Scenarios: a hard
// kill, a hung NAT, a planned handover (Spot warning), no fault, and every probe target
// down. See docs/bench-failover.md. Needs root (network namespaces); every packet stays
// inside the lab.
//
//   node dist/bench/failover/failover.js [--runs 20] [--scenarios no-fault,target-outage,hung,kill,planned]
//        [--policies natkeeper,ping-pair,scheduled-check] [--quiet-seconds 60] [--target-outage-runs 2]
//        [--target-down-seconds 20] [--cap-seconds P] [--settle-ms 2000] [--eni-attach-ms 0] [--eni-detach-ms 0]
//
// Prints a table and writes bench/out/failover/failover.json and outage.svg.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canUseNetns } from '../../lab/netns/dataplane.js';
import { isMainModule, numberFlag } from '../lib/cli.js';
import { startBenchLab, type BenchLab } from './lib/bench-lab.js';
import { boundedNumberFlag, checkFlags, listFlag } from '../lib/flags.js';
import { isOutageScenario, runOutage, type RunResult } from './lib/outage-run.js';
import { natkeeperPolicy } from './lib/policies/natkeeper.js';
import { pingPairPolicy } from './lib/policies/ping-pair.js';
import { POLICIES, SCENARIOS, type Policy, type PolicyName } from './lib/policies/policy.js';
import { scheduledCheckPolicy } from './lib/policies/scheduled-check.js';
import { runQuiet } from './lib/quiet-run.js';
import { outageSvg, printTable, type Cell, type FailoverBenchResult } from './lib/report.js';

/**
 * How long a run may take from the fault before it counts as not recovered: about twice
 * each policy's worst-case detection from its own parameters (ping-pair: a 2 s healthy
 * round, 2 s pause, a 3 s failing round; scheduled check: 5 s pause, two 5 s timeouts and
 * the check's own start),
 * with room for natkeeper's detection to change.
 */
const DEFAULT_CAP_MS: Record<PolicyName, number> = { natkeeper: 20_000, 'ping-pair': 15_000, 'scheduled-check': 25_000 };

const makePolicy: Record<PolicyName, (bl: BenchLab, log: (l: string) => void) => Policy> = {
  natkeeper: natkeeperPolicy,
  'ping-pair': pingPairPolicy,
  'scheduled-check': scheduledCheckPolicy,
};

const log = (line: string) => console.log(`  ${line}`);

function describeRun(r: RunResult): string {
  if (r.error) return `error: ${r.error.split('\n')[0]}`;
  const outage = r.outageMs === undefined ? '' : r.recovered ? `outage ${Math.round(r.outageMs)} ms, ` : `NOT recovered (>= ${Math.round(r.outageMs)} ms), `;
  return `${outage}${r.failovers} failover(s), ${r.mutatingCalls} mutating call(s) ${JSON.stringify(r.callsByAction ?? {})}`;
}

export async function run(argv: readonly string[] = process.argv): Promise<FailoverBenchResult> {
  const runs = boundedNumberFlag('--runs', 20, 1, 200, argv);
  const scenarios = listFlag('--scenarios', SCENARIOS, argv);
  const policies = listFlag('--policies', POLICIES, argv);
  const quietMs = boundedNumberFlag('--quiet-seconds', 60, 1, 3_600, argv) * 1_000;
  const targetOutageRuns = boundedNumberFlag('--target-outage-runs', Math.min(runs, 2), 1, 50, argv);
  const downMs = boundedNumberFlag('--target-down-seconds', 20, 1, 600, argv) * 1_000;
  const capFlag = numberFlag('--cap-seconds', argv);
  const settleMs = boundedNumberFlag('--settle-ms', 2_000, 200, 30_000, argv);
  const eniAttachMs = boundedNumberFlag('--eni-attach-ms', 0, 0, 60_000, argv);
  const eniDetachMs = boundedNumberFlag('--eni-detach-ms', 0, 0, 60_000, argv);
  const capOf = (p: PolicyName) => (capFlag !== undefined ? capFlag * 1_000 : DEFAULT_CAP_MS[p]);

  const result: FailoverBenchResult = {
    settings: {
      runs,
      quietSeconds: quietMs / 1_000,
      targetOutageRuns,
      targetDownSeconds: downMs / 1_000,
      targetOutageWindowSeconds: (downMs + 10_000) / 1_000,
      settleMs,
      capSeconds: policies.map((p) => `${p} ${capOf(p) / 1_000}`).join(' / '),
      eniAttachMs,
      eniDetachMs,
      mutatingLatencyMs: 'lab default (150)',
      killStateDelayMs: 'lab default (3000)',
    },
    policies: {},
    cells: [],
  };
  const started = Date.now();
  for (const name of policies) {
    log(`== ${name}: starting a lab`);
    const bl = await startBenchLab({ eniAttachMs, eniDetachMs });
    log(`${name}: lab ${bl.prefix} up`);
    const stopOnSignal = () => void bl.close().finally(() => process.exit(130));
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    const policy = makePolicy[name](bl, log);
    result.policies[name] = policy.parameters;
    try {
      for (const scenario of scenarios) {
        const cell: Cell = { scenario, policy: name, runs: [] };
        result.cells.push(cell);
        const na = policy.unsupported(scenario);
        if (na) {
          cell.na = na;
          continue;
        }
        const n = scenario === 'no-fault' ? 1 : scenario === 'target-outage' ? targetOutageRuns : runs;
        for (let i = 1; i <= n; i++) {
          let r: RunResult;
          try {
            r = isOutageScenario(scenario)
              ? await runOutage(bl, policy, scenario, i, { capMs: capOf(name), settleMs, log })
              : await runQuiet(bl, policy, scenario, i, { windowMs: scenario === 'no-fault' ? quietMs : downMs + 10_000, downMs });
          } catch (err) {
            r = { run: i, recovered: false, failovers: 0, mutatingCalls: 0, error: (err as Error).message };
          }
          cell.runs.push(r);
          log(`${scenario} ${i}/${n} ${name}: ${describeRun(r)}`);
          // Errors in a row mean the lab is stuck; the rest of this cell would only repeat them.
          if (cell.runs.length >= 3 && cell.runs.slice(-3).every((x) => x.error)) break;
        }
      }
    } finally {
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
      await policy.stop().catch((err: unknown) => log(`${name}: stop failed: ${(err as Error).message}`));
      await bl.close();
    }
  }
  result.settings.wallSeconds = Math.round((Date.now() - started) / 1_000);
  // Rows by scenario, then policy, as the issue's table reads.
  result.cells.sort((a, b) => SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario) || POLICIES.indexOf(a.policy) - POLICIES.indexOf(b.policy));
  return result;
}

const FLAGS = ['--runs', '--scenarios', '--policies', '--quiet-seconds', '--target-outage-runs', '--target-down-seconds', '--cap-seconds', '--settle-ms', '--eni-attach-ms', '--eni-detach-ms'];
const USAGE = `usage: node dist/bench/failover/failover.js [${FLAGS.map((f) => `${f} V`).join('] [')}]
  --scenarios ${SCENARIOS.join(',')}   --policies ${POLICIES.join(',')}   (see docs/bench-failover.md)`;

if (isMainModule(import.meta.url)) {
  const stop = checkFlags('failover bench', FLAGS, USAGE);
  if (stop !== undefined) process.exit(stop);
  // A closed stdout (| head) must not kill the run before its teardown: stop writing instead.
  process.stdout.on('error', () => undefined);
  const can = await canUseNetns();
  if (!can.ok) {
    console.log(`failover: skipped (${can.reason})`);
  } else {
    const result = await run();
    printTable(result);
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/out/failover');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'failover.json'), `${JSON.stringify(result, null, 2)}\n`);
    const caps = Object.keys(result.policies).map((p) => DEFAULT_CAP_MS[p as PolicyName]);
    writeFileSync(join(dir, 'outage.svg'), outageSvg(result, numberFlag('--cap-seconds') !== undefined ? numberFlag('--cap-seconds')! * 1_000 : Math.max(...caps, 1_000)));
    console.log(`  wrote ${dir}/failover.json and outage.svg`);
  }
}
