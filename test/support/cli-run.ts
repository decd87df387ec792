// In-process runs of a CLI entry (`run…Cli(argv, { out, err })`) and throwaway config files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

type CliEntry = (argv: readonly string[], deps: { out: (s: string) => void; err: (s: string) => void }) => Promise<number>;

/** A writer of files into a fresh temp directory: file(name, text) → its path. Call at a test file's top level: the directory goes after its tests. */
export function tempFiles(prefix: string): (name: string, text: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name, text) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
}

/** Runs the entry with argv; returns its exit code and what it wrote to stdout and stderr. */
export function cliRunner(entry: CliEntry): (argv: string[]) => Promise<{ code: number; out: string; err: string }> {
  return async (argv) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await entry(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
}
