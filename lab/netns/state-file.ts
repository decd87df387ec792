// The data plane's state file (<runDir>/dataplane.json): which prefix and
// namespaces a lab holds, so a lab that died without tearing down can be cleaned up.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataPlaneLog } from './dataplane-log.js';
import { teardownLab } from './infra.js';

export interface DataPlaneState {
  prefix: string;
  pid: number;
  startedAt: string;
  namespaces: string[];
}

const STATE_FILE = 'dataplane.json';

/** Records this process's lab in runDir; a failure is logged, not thrown. */
export function writeDataPlaneState(runDir: string, prefix: string, namespaces: string[], log: DataPlaneLog): void {
  const state: DataPlaneState = { prefix, pid: process.pid, startedAt: new Date().toISOString(), namespaces };
  try {
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  } catch (e) {
    log({ level: 'warn', event: 'dataplane.state-file-failed', error: String(e) });
  }
}

export function removeDataPlaneState(runDir: string): void {
  rmSync(join(runDir, STATE_FILE), { force: true });
}

/** The state file a data plane keeps in its runDir, if any. */
export function readDataPlaneState(runDir: string): DataPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, STATE_FILE), 'utf8')) as DataPlaneState;
  } catch {
    return undefined;
  }
}

/** Crash recovery from a runDir: tears down the lab its state file names and removes the file. */
export async function teardownFromState(runDir: string): Promise<string[]> {
  const state = readDataPlaneState(runDir);
  if (!state) return [];
  const removed = await teardownLab(state.prefix);
  removeDataPlaneState(runDir);
  return removed;
}
