// Running kernel tools (ip, nft, sysctl) and finding processes by network
// namespace. Every namespace operation goes through here, by argv (no shell).

import { spawn } from 'node:child_process';
import { readdir, readlink, readFile, stat } from 'node:fs/promises';

export const NETNS_DIR = '/var/run/netns';

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  input?: string;
  /** Kill the command after this long (default 15 s): a stuck tool must not stall the lab. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * A data-plane helper (ip, nft, sysctl entering a namespace): kept out of the pid sweeps
   * that freeze or kill an instance's processes, so a fault never stops the tool applying it.
   */
  helper?: boolean;
}

/** Pids of helper commands running now (see RunOptions.helper). */
const helperPids = new Set<number>();

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
    readonly input?: string,
  ) {
    super(`\`${argv.join(' ')}\` failed (exit ${result.code}${result.signal ? `, ${result.signal}` : ''}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

const MAX_OUTPUT = 8 * 1024 * 1024;

/** Runs argv to completion; never rejects for a non-zero exit (see runChecked). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const pid = child.pid;
    if (opts.helper && pid !== undefined) helperPids.add(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    let done = false;
    const finish = (code: number, signal: NodeJS.Signals | null, extra = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (pid !== undefined) helperPids.delete(pid);
      resolve({ code, signal, stdout, stderr: stderr + extra, ms: performance.now() - started });
    };
    child.on('error', (e) => finish(127, null, String(e)));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 : 1), signal));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export async function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r, opts.input);
  return r;
}

/** argv running a command with only the network namespace switched (cheaper than `ip netns exec`). */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=${NETNS_DIR}/${ns}`, '--', ...argv];
}

/** Runs `ip -n <ns> -batch -` with the lines; `force` carries on past failing lines. */
export function ipBatch(ns: string, lines: readonly string[], force = false): Promise<RunResult> {
  return runChecked(['ip', ...(force ? ['-force'] : []), '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n`, helper: true });
}

export function ip(ns: string, ...args: string[]): Promise<RunResult> {
  return runChecked(['ip', '-n', ns, ...args], { helper: true });
}

export function nftIn(ns: string, script: string): Promise<RunResult> {
  return runChecked(inNetns(ns, ['nft', '-f', '-']), { input: script, helper: true });
}

export function sysctlIn(ns: string, settings: Record<string, string | number>): Promise<RunResult> {
  return runChecked(inNetns(ns, ['sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]), { helper: true });
}

/** Names from `ip netns list` ("name (id: 3)" → "name"). */
export async function listNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** The inode identifying a named network namespace, or undefined when it is gone. */
async function netnsInode(ns: string): Promise<number | undefined> {
  try {
    return (await stat(`${NETNS_DIR}/${ns}`)).ino;
  } catch {
    return undefined;
  }
}

/**
 * Pids of every process whose network namespace is `ns` (what `ip netns pids` does,
 * without a spawn), leaving out this process and the data plane's own helper commands.
 */
export async function netnsPids(ns: string): Promise<number[]> {
  const ino = await netnsInode(ns);
  if (ino === undefined) return [];
  const want = `net:[${ino}]`;
  const entries = await readdir('/proc');
  const pids: number[] = [];
  await Promise.all(
    entries.map(async (e) => {
      if (!/^\d+$/.test(e)) return;
      try {
        if ((await readlink(`/proc/${e}/ns/net`)) === want) pids.push(Number(e));
      } catch {
        // The process exited meanwhile.
      }
    }),
  );
  return pids.filter((p) => p !== process.pid && !helperPids.has(p)).sort((a, b) => a - b);
}

/** The command line of a process, space-joined ("" when it is gone). */
export async function cmdlineOf(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** A process's state letter from /proc/<pid>/stat ("R", "S", "T" stopped, "Z"...), undefined when gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function signalPids(pids: readonly number[], signal: NodeJS.Signals): number[] {
  const hit: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, signal);
      hit.push(pid);
    } catch {
      // Already gone.
    }
  }
  return hit;
}

/** SIGKILLs every process in the namespace and waits (bounded) until none is left. */
export async function killNetnsProcesses(ns: string, waitMs = 2000): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const pids = await netnsPids(ns);
    if (pids.length === 0) return;
    signalPids(pids, 'SIGKILL');
    if (performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function deleteNetns(ns: string): Promise<void> {
  await killNetnsProcesses(ns);
  const r = await run(['ip', 'netns', 'del', ns]);
  if (r.code !== 0 && !/No such file|does not exist/i.test(r.stderr)) throw new CommandError(['ip', 'netns', 'del', ns], r);
}
