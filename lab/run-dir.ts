// Where a running lab keeps its state file, sockets and log.
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  try {
    return JSON.parse(readFileSync(stateFilePath(runDir), 'utf8')) as LabStateFile;
  } catch {
    return undefined;
  }
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
