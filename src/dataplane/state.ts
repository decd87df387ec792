// The sysctl values natkeeper found before it changed them, so `reset` can put
// them back. Written once (the first apply's "before"); later applies only add
// keys not recorded yet, so the original values survive repeated applies.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_STATE_FILE = '/var/lib/natkeeper/dataplane-state.json';

export interface SavedState {
  version: 1;
  savedAt: string;
  /** sysctl key → value before natkeeper's first change. */
  sysctls: Record<string, string>;
}

export interface StateStore {
  read(): Promise<SavedState | undefined>;
  write(state: SavedState): Promise<void>;
  remove(): Promise<void>;
  /** Where it lives, for messages. */
  readonly where: string;
}

export function fileStateStore(path: string = DEFAULT_STATE_FILE): StateStore {
  return {
    where: path,
    async read() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      const s = JSON.parse(text) as Partial<SavedState>;
      if (s.version !== 1 || typeof s.sysctls !== 'object' || s.sysctls === null) throw new Error(`${path} is not a natkeeper data plane state file`);
      return s as SavedState;
    },
    async write(state) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
      await rename(tmp, path);
    },
    async remove() {
      await rm(path, { force: true });
    },
  };
}

/** A state store in memory (tests, dry runs). */
export function memoryStateStore(): StateStore & { state: SavedState | undefined } {
  const s = {
    where: 'memory',
    state: undefined as SavedState | undefined,
    async read() {
      return s.state;
    },
    async write(v: SavedState) {
      s.state = structuredClone(v);
    },
    async remove() {
      s.state = undefined;
    },
  };
  return s;
}
