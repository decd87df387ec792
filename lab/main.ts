#!/usr/bin/env node
// `natkeeper lab …`: bring the local VPC lab up and down, look at it, run
// commands inside its instances and inject faults.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigFile, parseConfigText } from '../src/config/load-file.js';
import { createLogger } from '../src/telemetry/logger.js';
import { CHAOS_MAX_WORDS, CHAOS_VERBS, chaosRequestFromWords, type ChaosVerb } from './chaos/verbs.js';
import { startLab } from './lab.js';
import { printStatus } from './print-status.js';
import { defaultRunDir, isAlive, isLabServer, labServerWithPrefix, logFilePath, readStateFile, removeStateFile, writeStateFile, type LabStateFile } from './run-dir.js';
import { teardownFromState, teardownLab } from './netns/dataplane.js';
import { PREFIX_RE } from './netns/names.js';
import { checkTopology } from './topology/build.js';
import { topologySchema, type Topology } from './topology/schema.js';
import type { LabStatus } from './lab-status.js';

const DEFAULT_PREFIX = 'nkl-';

class UsageError extends Error {}

function loadTopology(path: string | undefined): Topology {
  const topology = path ? loadConfigFile(topologySchema, path) : parseConfigText(topologySchema, '', 'default topology');
  checkTopology(topology);
  return topology;
}

/** The namespace prefix, checked before anything starts (and before `down` tears down by it). */
function checkPrefixOption(prefix: string): void {
  if (!PREFIX_RE.test(prefix))
    throw new UsageError(`--prefix "${prefix}" is not valid: expected 2-12 lowercase letters/digits starting with a letter, then "-" (e.g. "nkl-")`);
}

function runningState(runDir: string): LabStateFile | undefined {
  const state = readStateFile(runDir);
  return state && isLabServer(state.pid, runDir) ? state : undefined;
}

async function adminRequest<T>(state: LabStateFile, path: string, body?: unknown): Promise<T> {
  const url = `${state.endpoints.admin}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new UsageError(`the lab (pid ${state.pid}) did not answer at ${url}: ${(err as Error).message}; see lab.log in its run dir, or restart it: natkeeper lab down && natkeeper lab up`);
  }
  const text = await res.text();
  let json: T & { error?: string };
  try {
    json = JSON.parse(text) as T & { error?: string };
  } catch {
    throw new UsageError(`the lab answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new UsageError(json.error ?? `lab answered ${res.status}`);
  return json;
}

function requireLab(runDir: string): LabStateFile {
  const state = runningState(runDir);
  if (!state) throw new UsageError(`the lab is not running (no live lab in ${runDir}); start it with: natkeeper lab up`);
  return state;
}

async function up(opts: { topology?: string; runDir: string; prefix: string; dataPlane: boolean; json?: boolean }): Promise<void> {
  checkPrefixOption(opts.prefix);
  loadTopology(opts.topology); // fail before starting anything
  const existing = runningState(opts.runDir);
  if (!existing) {
    const stale = readStateFile(opts.runDir);
    if (stale) {
      // A lab that crashed leaves namespaces behind: clear them before starting again.
      if (PREFIX_RE.test(stale.prefix)) await teardownLab(stale.prefix);
      removeStateFile(opts.runDir);
    }
    await spawnServer(opts);
  }
  const state = requireLab(opts.runDir);
  const status = await adminRequest<LabStatus>(state, '/status');
  if (opts.json) console.log(JSON.stringify({ endpoints: state.endpoints, pid: state.pid, prefix: state.prefix, ...status }, null, 2));
  else {
    console.log(existing ? 'lab already up' : 'lab up');
    printStatus(state, status);
  }
}

async function spawnServer(opts: { topology?: string; runDir: string; prefix: string; dataPlane: boolean }): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(opts.runDir, { recursive: true });
  const logPath = logFilePath(opts.runDir);
  const fd = openSync(logPath, 'a');
  const args = [fileURLToPath(import.meta.url), 'serve', '--run-dir', resolve(opts.runDir), '--prefix', opts.prefix];
  if (opts.topology) args.push('--topology', opts.topology);
  if (!opts.dataPlane) args.push('--no-data-plane');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const state = readStateFile(opts.runDir);
    if (state && state.pid === child.pid) return;
    if (child.exitCode !== null || (child.pid !== undefined && !isAlive(child.pid))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new UsageError(`the lab did not come up; last lines of ${logPath}:\n${tail}`);
}

async function serve(opts: { topology?: string; runDir: string; prefix: string; dataPlane: boolean }): Promise<void> {
  checkPrefixOption(opts.prefix);
  const log = createLogger({ write: (l) => process.stdout.write(l + '\n') });
  const lab = await startLab({
    topology: loadTopology(opts.topology),
    runDir: opts.runDir,
    prefix: opts.prefix,
    dataPlane: opts.dataPlane ? 'auto' : 'off',
    log,
  });
  if (lab.dataPlaneNote) log.warn('lab.data-plane-off', { reason: lab.dataPlaneNote });
  writeStateFile(opts.runDir, {
    pid: process.pid,
    prefix: opts.prefix,
    startedAt: new Date().toISOString(),
    dataPlane: Boolean(lab.dataPlane),
    endpoints: lab.endpoints,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('lab.stopping', { signal });
    await lab.close();
    removeStateFile(opts.runDir);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function down(opts: { runDir: string; prefix: string }): Promise<void> {
  checkPrefixOption(opts.prefix);
  const state = readStateFile(opts.runDir);
  if (!state) {
    // No state file, but a crash may still have left namespaces behind (the data plane's own
    // state file, or the prefix): `down` is the operator's one way to clear them.
    const other = labServerWithPrefix(opts.prefix);
    if (other !== undefined)
      throw new UsageError(`no lab is recorded in ${opts.runDir}, and the lab server ${other} (another run dir) uses prefix "${opts.prefix}": not touching its namespaces`);
    const removed = [...(await teardownFromState(opts.runDir)), ...(await teardownLab(opts.prefix))];
    console.log(removed.length ? `lab was not running; removed leftover namespaces: ${removed.join(', ')}` : 'lab is not running');
    return;
  }
  if (isLabServer(state.pid, opts.runDir)) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
  }
  // Whatever the server managed to clean up, make sure nothing of this lab stays behind.
  if (PREFIX_RE.test(state.prefix)) await teardownLab(state.prefix);
  else console.error(`natkeeper lab: the state file names an invalid prefix "${state.prefix}"; not removing namespaces by it`);
  removeStateFile(opts.runDir);
  console.log('lab down');
}

async function status(opts: { runDir: string; json?: boolean }): Promise<void> {
  const state = requireLab(opts.runDir);
  const s = await adminRequest<LabStatus>(state, '/status');
  if (opts.json) console.log(JSON.stringify({ endpoints: state.endpoints, pid: state.pid, prefix: state.prefix, ...s }, null, 2));
  else printStatus(state, s);
}

async function exec(instance: string, argv: string[], opts: { runDir: string }): Promise<number> {
  if (argv.length === 0) throw new UsageError('give the command to run after --, e.g. natkeeper lab exec nat-a1 -- ip addr');
  const state = requireLab(opts.runDir);
  const s = await adminRequest<LabStatus>(state, '/status');
  const inst = s.instances.find((i) => i.instanceId === instance || (i.name === instance && i.state !== 'terminated'));
  if (!inst) throw new UsageError(`no instance "${instance}" in the lab`);
  if (!inst.namespace) throw new UsageError(`instance ${inst.instanceId} has no namespace (the lab runs without a data plane, or it is terminated)`);
  const child = spawn('ip', ['netns', 'exec', inst.namespace, ...argv], { stdio: 'inherit' });
  return await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

async function chaos(verb: string, words: string[], opts: { runDir: string; json?: boolean }): Promise<void> {
  if (!CHAOS_VERBS.includes(verb as never)) throw new UsageError(`unknown chaos verb "${verb}"; one of: ${CHAOS_VERBS.join(', ')}`);
  const max = CHAOS_MAX_WORDS[verb as ChaosVerb];
  if (words.length > max) throw new UsageError(`chaos ${verb} takes at most ${max} argument(s), got ${words.length}: ${words.join(' ')}`);
  const state = requireLab(opts.runDir);
  const entry = await adminRequest<{ time: string; verb: string; detail?: string }>(state, '/chaos', chaosRequestFromWords(verb, words));
  if (opts.json) console.log(JSON.stringify(entry));
  else console.log(`${entry.time} chaos ${verb} ${words.join(' ')}: done${entry.detail ? ` (${entry.detail})` : ''}`);
}

export function labProgram(): Command {
  const program = new Command('lab').description('the local VPC lab: emulated EC2/Auto Scaling APIs and a network-namespace data plane');
  program.exitOverride();
  const runDirOption = () => new Option('--run-dir <dir>', 'where the lab keeps its state').default(defaultRunDir());
  program
    .command('up')
    .description('start the lab (idempotent)')
    .option('--topology <file>', 'topology file (YAML or JSON); default: 3 zones, 4 NATs')
    .addOption(runDirOption())
    .option('--prefix <prefix>', 'network namespace prefix', DEFAULT_PREFIX)
    .option('--no-data-plane', 'run the APIs only, without network namespaces')
    .option('--json', 'print JSON')
    .action(up);
  program
    .command('serve', { hidden: true })
    .option('--topology <file>')
    .addOption(runDirOption())
    .option('--prefix <prefix>', 'network namespace prefix', DEFAULT_PREFIX)
    .option('--no-data-plane')
    .action(serve);
  program
    .command('down')
    .description('stop the lab and remove everything it made, also after a crash (idempotent)')
    .addOption(runDirOption())
    .option('--prefix <prefix>', 'network namespace prefix to clear when no lab is recorded in the run dir', DEFAULT_PREFIX)
    .action(down);
  program.command('status').description('endpoints, instances, routes').addOption(runDirOption()).option('--json', 'print JSON').action(status);
  program
    .command('exec <instance>')
    .description('run a command inside an instance (ID or Name tag): lab exec nat-a1 -- ip addr')
    .argument('[command...]')
    .addOption(runDirOption())
    .action(async (instance: string, command: string[], opts: { runDir: string }) => {
      process.exitCode = await exec(instance, command, opts);
    });
  program
    .command('chaos <verb>')
    .description(`inject a fault: ${CHAOS_VERBS.join(', ')}`)
    .argument('[args...]')
    .addOption(runDirOption())
    .option('--json', 'print JSON')
    .action((verb: string, args: string[], opts: { runDir: string; json?: boolean }) => chaos(verb, args, opts));
  return program;
}

export async function runLabCli(argv: string[]): Promise<number> {
  try {
    await labProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`natkeeper lab: ${err.message}`);
      return 2;
    }
    console.error(`natkeeper lab: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runLabCli(process.argv.slice(2)).then(
    (code) => {
      if (process.argv[2] !== 'serve') process.exit(code);
      else if (code !== 0) process.exit(code);
    },
    () => process.exit(1),
  );
}
