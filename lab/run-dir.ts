// Where a running lab keeps its state file, sockets and log.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface LabEndpoints {
  ec2: string;
  autoscaling: string;
  dynamodb: string;
  events: string;
  /** The lab's own control endpoint (status, chaos). */
  admin: string;
}

/** What `lab up` leaves behind so `status`, `exec`, `chaos` and `down` can find the lab, also after a crash. */
export interface LabStateFile {
  pid: number;
  prefix: string;
  startedAt: string;
  dataPlane: boolean;
  endpoints: LabEndpoints;
}

export function defaultRunDir(): string {
  if (process.env.NATKEEPER_LAB_DIR) return process.env.NATKEEPER_LAB_DIR;
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? '/run/natkeeper-lab' : join(tmpdir(), `natkeeper-lab-${uid}`);
}

export const stateFilePath = (runDir: string) => join(runDir, 'state.json');
export const logFilePath = (runDir: string) => join(runDir, 'lab.log');
export const imdsSocketDir = (runDir: string) => join(runDir, 'imds');

export function readStateFile(runDir: string): LabStateFile | undefined {
  let state: Partial<LabStateFile>;
  try {
    state = JSON.parse(readFileSync(stateFilePath(runDir), 'utf8')) as Partial<LabStateFile>;
  } catch {
    return undefined;
  }
  // A damaged file must not make `down` signal an arbitrary pid or tear down by a bogus prefix.
  if (typeof state !== 'object' || state === null || !Number.isInteger(state.pid) || (state.pid ?? 0) <= 1 || typeof state.prefix !== 'string')
    return undefined;
  return state as LabStateFile;
}

export function writeStateFile(runDir: string, state: LabStateFile): void {
  mkdirSync(runDir, { recursive: true });
  const tmp = stateFilePath(runDir) + '.tmp';
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFilePath(runDir));
}

export function removeStateFile(runDir: string): void {
  rmSync(stateFilePath(runDir), { force: true });
}

/**
 * Whether pid is alive and is this run dir's lab server (`… serve --run-dir <runDir> …`): after a
 * crash and a reboot the state file's pid may belong to an unrelated process, which must not be signalled.
 */
export function isLabServer(pid: number, runDir: string): boolean {
  if (!isAlive(pid)) return false;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    // No /proc (or gone meanwhile): trust liveness alone.
    return isAlive(pid);
  }
  const dir = argv[argv.indexOf('--run-dir') + 1];
  return argv.includes('serve') && argv.includes('--run-dir') && dir !== undefined && resolve(dir) === resolve(runDir);
}

/** The pid of a live lab server (`… serve … --prefix <prefix>`) using this prefix, if any (Linux /proc). */
export function labServerWithPrefix(prefix: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes('serve') && argv[argv.indexOf('--prefix') + 1] === prefix && argv.includes('--prefix') && isAlive(Number(p))) return Number(p);
  }
  return undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent never reaps it still answers signal 0: a zombie is dead to us.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
