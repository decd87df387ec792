// The Lambda backstop benchmark (issue 5): the egress outage when every agent is gone and
// only the Lambda reacts, through the lab's event webhooks (lab/lambda-runner.ts), to a
// scale-in of the carrier (terminate lifecycle hook), a stop of the carrier, and a Spot
// interruption warning for it. One lab for every scenario, no agent in it. See
// docs/bench-lambda.md. Needs root (network namespaces); every packet stays inside the lab.
//
//   node dist/bench/lambda/lambda.js [--runs 5] [--scenarios scale-in,stop,spot] [--settle-ms 2000]
//        [--cap-seconds 30] [--hook-timeout-seconds 30] [--eni-attach-ms 0] [--eni-detach-ms 0]
//
// Prints a table and writes bench/out/lambda/lambda.json and runs.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canUseNetns } from '../../lab/netns/dataplane.js';
import type { LiveOutageStreams } from '../../lab/outage.js';
import { boundedNumberFlag, checkFlags, listFlag } from '../lib/flags.js';
import { isMainModule } from '../lib/cli.js';
import { startLambdaBenchLab, type LambdaBenchLab } from './lib/lambda-bench-lab.js';
import { runLambdaScenario, type LambdaRunResult } from './lib/lambda-run.js';
import { NOTES, printTable, runsSvg, type LambdaBenchResult, type ScenarioCell } from './lib/report.js';
import { SCENARIOS, type ScenarioName } from './lib/scenarios.js';

const log = (line: string) => console.log(`  ${line}`);

function describeRun(r: LambdaRunResult): string {
  const outage = r.recovered ? `outage ${Math.round(r.outageMs)} ms` : `NOT recovered (>= ${Math.round(r.outageMs)} ms)`;
  const moved = r.triggerToMovedMs === undefined ? 'ENI not moved' : `moved to ${r.movedTo} after ${r.triggerToMovedMs} ms`;
  const lifecycle = r.lifecycleCompleted === undefined ? '' : `, lifecycle ${r.lifecycleCompleted ? 'completed by the Lambda' : 'NOT completed by the Lambda'}`;
  return `${outage}, ${moved}, ${r.lambdaMutatingCalls} Lambda call(s) ${JSON.stringify(r.callsByAction)}, ${r.invocations.length} invocation(s)${lifecycle}`;
}

export interface LambdaBenchSettings {
  runs: number;
  scenarios: ScenarioName[];
  settleMs: number;
  capMs: number;
  hookTimeoutSeconds: number;
  eniAttachMs: number;
  eniDetachMs: number;
}

/** The command line, checked; throws naming the flag on a bad --scenarios list. */
export function parseSettings(argv: readonly string[] = process.argv): LambdaBenchSettings {
  return {
    runs: boundedNumberFlag('--runs', 5, 1, 50, argv),
    scenarios: listFlag('--scenarios', SCENARIOS, argv),
    settleMs: boundedNumberFlag('--settle-ms', 2_000, 200, 30_000, argv),
    capMs: boundedNumberFlag('--cap-seconds', 30, 5, 600, argv) * 1_000,
    // AWS's minimum heartbeat timeout is 30 s.
    hookTimeoutSeconds: boundedNumberFlag('--hook-timeout-seconds', 30, 30, 600, argv),
    eniAttachMs: boundedNumberFlag('--eni-attach-ms', 0, 0, 60_000, argv),
    eniDetachMs: boundedNumberFlag('--eni-detach-ms', 0, 0, 60_000, argv),
  };
}

export async function run(settings: LambdaBenchSettings): Promise<LambdaBenchResult> {
  const { runs, scenarios, settleMs, capMs, hookTimeoutSeconds, eniAttachMs, eniDetachMs } = settings;
  const result: LambdaBenchResult = {
    settings: {
      runs,
      settleMs,
      capSeconds: capMs / 1_000,
      hookTimeoutSeconds,
      eniAttachMs,
      eniDetachMs,
      mutatingLatencyMs: 'lab default (150)',
      instanceStopMs: 'lab default (1000)',
      eventDelivery: 'immediate (lab)',
    },
    notes: NOTES,
    cells: [],
  };
  const started = Date.now();
  const active = new Set<LiveOutageStreams>();
  let lbl: LambdaBenchLab | undefined;
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= lbl?.close() ?? Promise.resolve());
  // Ctrl-C tears the lab down (namespaces included) before exiting; during the lab's
  // start it waits for the start to finish (or fail, which cleans up by itself).
  let interrupted = false;
  const stopOnSignal = () => {
    interrupted = true;
    for (const s of active) s.stop();
    if (lbl) void close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  log('starting a lab (no agent; the Lambda runner on its event bus)');
  try {
    lbl = await startLambdaBenchLab({ eniAttachMs, eniDetachMs, hookTimeoutSeconds });
  } catch (err) {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    throw err;
  }
  if (interrupted) {
    await close();
    process.exit(130);
  }
  log(`lab ${lbl.bl.prefix} up`);
  try {
    for (const scenario of scenarios) {
      const cell: ScenarioCell = { scenario, runs: [], errors: [] };
      result.cells.push(cell);
      let errorsInARow = 0;
      for (let i = 1; i <= runs && !interrupted; i++) {
        try {
          const r = await runLambdaScenario(lbl, scenario, i, { capMs, settleMs, active });
          errorsInARow = 0;
          cell.runs.push(r);
          log(`${scenario} ${i}/${runs}: ${describeRun(r)}`);
        } catch (err) {
          cell.errors.push({ run: i, error: (err as Error).message });
          log(`${scenario} ${i}/${runs}: error: ${(err as Error).message.split('\n')[0]}`);
          // Errors in a row mean the lab is stuck; the rest of this scenario would only repeat them.
          if (++errorsInARow >= 2) break;
        }
      }
    }
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await close();
  }
  result.settings.wallSeconds = Math.round((Date.now() - started) / 1_000);
  return result;
}

const FLAGS = ['--runs', '--scenarios', '--settle-ms', '--cap-seconds', '--hook-timeout-seconds', '--eni-attach-ms', '--eni-detach-ms'];
const USAGE = `usage: node dist/bench/lambda/lambda.js [${FLAGS.map((f) => `${f} V`).join('] [')}]
  --scenarios ${SCENARIOS.join(',')}   (see docs/bench-lambda.md)`;

if (isMainModule(import.meta.url)) {
  const stop = checkFlags('lambda bench', FLAGS, USAGE);
  if (stop !== undefined) process.exit(stop);
  // A closed stdout (| head) must not kill the run before its teardown: stop writing instead.
  process.stdout.on('error', () => undefined);
  let settings: LambdaBenchSettings;
  try {
    settings = parseSettings();
  } catch (err) {
    console.error(`lambda bench: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const can = await canUseNetns();
  if (!can.ok) {
    console.log(`lambda bench: skipped (${can.reason})`);
  } else {
    const result = await run(settings);
    printTable(result);
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/out/lambda');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lambda.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(dir, 'runs.svg'), runsSvg(result, settings.capMs));
    console.log(`  wrote ${dir}/lambda.json and runs.svg`);
  }
}
