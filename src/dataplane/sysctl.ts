// Reading sysctls. On this host they are files under /proc/sys, read without spawning
// `sysctl -n` (the agent's drift check reads several every few seconds); through any
// other Runner (a lab namespace, a test's pretend kernel) they are read with `sysctl -n`.
// Writes always go through the Runner (`sysctl -w`), they are rare.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLocalRunner, type Runner } from './runner.js';

/** One sysctl's value, trimmed as `sysctl -n` prints it; undefined when the key does not exist or cannot be read. */
export type SysctlReader = (key: string) => Promise<string | undefined>;

/**
 * The path of `key` below /proc/sys, as procps `sysctl` maps it: when the first separator
 * is a dot, dots separate levels and slashes stand for dots inside a name
 * (`net.ipv4.conf.eth0/100.rp_filter`); when it is a slash, the key already is a path
 * (`net/ipv4/conf/eth0.100/rp_filter`). Undefined for keys that are no sysctl path
 * (empty levels, `.`/`..` levels), so nothing outside /proc/sys is read.
 */
export function sysctlPath(key: string): string | undefined {
  const first = /[./]/.exec(key)?.[0];
  const parts = first === '.' ? key.split('.').map((p) => p.replaceAll('/', '.')) : key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return parts.join('/');
}

/** Reads sysctls as files below `root` (default /proc/sys): no process is spawned. */
export function procSysctlReader(root = '/proc/sys'): SysctlReader {
  return async (key) => {
    const rel = sysctlPath(key);
    if (rel === undefined) return undefined;
    try {
      return (await readFile(join(root, rel), 'utf8')).trim();
    } catch {
      return undefined;
    }
  };
}

/** Reads sysctls with `sysctl -n KEY` through `runner`. */
export function runnerSysctlReader(runner: Runner): SysctlReader {
  return async (key) => {
    const r = await runner(['sysctl', '-n', key]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
}

const procReader = procSysctlReader();

/** /proc/sys for the local runner (it runs on this host), `sysctl -n` through any other. */
export function sysctlReaderFor(runner: Runner): SysctlReader {
  return isLocalRunner(runner) ? procReader : runnerSysctlReader(runner);
}
