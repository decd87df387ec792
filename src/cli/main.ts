#!/usr/bin/env node
// The natkeeper command. `natkeeper lab …` is handed to the lab, which ships
// beside the product in this repository but is never imported by src/: it is
// loaded by path at run time, so a production install without lab/ still works.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';

const here = dirname(fileURLToPath(import.meta.url));

function version(): string {
  for (const p of [join(here, '../../package.json'), join(here, '../../../package.json')]) {
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

async function runLab(argv: string[]): Promise<number> {
  const labMain = join(here, '../../lab/main.js');
  if (!existsSync(labMain)) {
    console.error('natkeeper: the lab is not part of this install (it ships with the source repository)');
    return 2;
  }
  const mod = (await import(pathToFileURL(labMain).href)) as { runLabCli(argv: string[]): Promise<number> };
  return mod.runLabCli(argv);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'lab') return runLab(argv.slice(1));
  if (argv[0] === 'dataplane') return (await import('./dataplane.js')).runDataplaneCli(argv.slice(1));
  if (argv[0] === 'config') return (await import('./config-check.js')).runConfigCli(argv.slice(1));
  if (argv[0] === 'agent') return (await import('./agent.js')).runAgentCli(argv.slice(1));
  if (argv[0] === 'status') return (await import('./status.js')).runStatusCli(argv.slice(1));
  if (argv[0] === 'plan') return (await import('./plan.js')).runPlanCli(argv.slice(1));
  if (argv[0] === 'history') return (await import('./history.js')).runHistoryCli(argv.slice(1));
  if (argv[0] === 'controller') return (await import('./controller.js')).runControllerCli(argv.slice(1));
  if (argv[0] === 'failover') return (await import('./manual.js')).runFailoverCli(argv.slice(1));
  if (argv[0] === 'failback') return (await import('./manual.js')).runFailbackCli(argv.slice(1));
  if (argv[0] === 'iam-policy') return (await import('./iam-policy.js')).runIamPolicyCli(argv.slice(1));
  const program = new Command('natkeeper')
    .description('high availability for NAT instances in AWS VPCs')
    .version(version())
    .exitOverride();
  program.command('lab').description('the local VPC lab (natkeeper lab --help)');
  program.command('dataplane').description('on-instance NAT setup: apply | verify | reset (natkeeper dataplane --help)');
  program.command('config').description('the agent config file: check FILE (natkeeper config --help)');
  program.command('agent').description('the NAT node daemon: natkeeper agent --config FILE (natkeeper agent --help)');
  program.command('status').description('zones, egress, route targets, verdicts, lease holder and token: natkeeper status --config FILE [--json]');
  program.command('plan').description('what the controller would do now, dry run: natkeeper plan --config FILE [--json]');
  program.command('history').description('the decision log: natkeeper history --config FILE [--limit N] [--json]');
  program.command('controller').description('the controller off the NAT nodes: natkeeper controller --config FILE [--agent URL]...');
  program.command('failover').description("move a zone's egress now, fenced: natkeeper failover --config FILE --zone Z [--to NODE] [--for 1h]");
  program.command('failback').description("return a zone's egress to its own NAT now: natkeeper failback --config FILE --zone Z");
  program.command('iam-policy').description('the IAM policy the agent or the Lambda needs: natkeeper iam-policy --config FILE [--principal agent|lambda] [--cluster NAME] [--account ID]');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    console.error(`natkeeper: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // `lab serve` keeps running; everything else exits with its code.
    if (!(process.argv[2] === 'lab' && process.argv[3] === 'serve') || code !== 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
