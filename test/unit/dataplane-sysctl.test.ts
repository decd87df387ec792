import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readSysctl, readSysctls, verify } from '../../src/dataplane/executor.js';
import { validateConfig } from '../../src/dataplane/config.js';
import { planDataplane } from '../../src/dataplane/plan.js';
import { isLocalRunner, localRunner, type Runner } from '../../src/dataplane/runner.js';
import { procSysctlReader, runnerSysctlReader, sysctlPath, sysctlReaderFor } from '../../src/dataplane/sysctl.js';

// Counts processes: the local runner's sysctl reads must spawn none.
vi.mock('node:child_process', async (importOriginal) => {
  const m = await importOriginal<typeof import('node:child_process')>();
  return { ...m, spawn: vi.fn(m.spawn) };
});
const spawned = vi.mocked(spawn);

const root = mkdtempSync(join(tmpdir(), 'natkeeper-sysctl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const put = (rel: string, content: string) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content);
};
put('net/ipv4/ip_forward', '1\n');
put('net/ipv4/conf/eth0.100/rp_filter', '2\n');
put('net/ipv4/tcp_rmem', '4096\t131072\t6291456\n');
put('secret', 'outside\n');

beforeEach(() => {
  spawned.mockClear();
});

describe('sysctlPath: the key as procps sysctl maps it below /proc/sys', () => {
  it('dots separate levels; in the dotted form a slash stands for a dot in a name', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0/100.rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
  });
  it('a key whose first separator is a slash already is a path (plan.ifaceKey for names with dots)', () => {
    expect(sysctlPath('net/ipv4/conf/eth0.100/rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
  });
  it('refuses keys that could leave /proc/sys or have empty levels', () => {
    for (const k of ['', 'net..ipv4', '.net.ipv4', 'net/../../etc/passwd', '../secret', 'net.ipv4.']) expect(sysctlPath(k), k).toBeUndefined();
  });
});

describe('procSysctlReader', () => {
  const read = procSysctlReader(root);
  it('reads the trimmed value, like `sysctl -n`', async () => {
    expect(await read('net.ipv4.ip_forward')).toBe('1');
    expect(await read('net.ipv4.conf.eth0/100.rp_filter')).toBe('2');
    expect(await read('net/ipv4/conf/eth0.100/rp_filter')).toBe('2');
    expect(await read('net.ipv4.tcp_rmem')).toBe('4096\t131072\t6291456');
  });
  it('a missing key, a directory, or a key outside the root is undefined', async () => {
    expect(await read('net.netfilter.nf_conntrack_count')).toBeUndefined();
    expect(await read('net.ipv4')).toBeUndefined();
    expect(await read('net/../secret')).toBeUndefined();
  });
});

describe('which reader a Runner gets', () => {
  it('the local runner reads /proc/sys without spawning a process', async () => {
    const runner = localRunner();
    expect(isLocalRunner(runner)).toBe(true);
    const v = await readSysctl(runner, 'net.ipv4.ip_forward');
    expect(v).toMatch(/^[01]$/);
    const m = await readSysctls(runner, ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.natkeeper.no_such_key']);
    expect(m.has('net.natkeeper.no_such_key')).toBe(false);
    expect(m.get('net.ipv4.ip_forward')).toBe(v);
    expect(await readSysctl(runner, 'net.natkeeper.no_such_key')).toBeUndefined();
    expect(spawned).not.toHaveBeenCalled();
  });

  it('/proc/sys gives what `sysctl -n` prints', async () => {
    const runner = localRunner();
    const viaSysctl = runnerSysctlReader(runner);
    for (const k of ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.ip_local_port_range', 'net.natkeeper.no_such_key']) {
      const r = await runner(['sysctl', '-n', k]);
      if (r.code === 127) return; // no sysctl binary here: nothing to compare with
      expect(await readSysctl(runner, k), k).toBe(await viaSysctl(k));
    }
    expect(spawned).toHaveBeenCalled(); // the comparison itself ran sysctl
  });

  it('an injected runner (a lab namespace, a fake kernel) is asked with `sysctl -n`', async () => {
    const calls: string[] = [];
    const fake: Runner = async (argv) => {
      calls.push(argv.join(' '));
      return argv[2] === 'net.ipv4.ip_forward' ? { code: 0, stdout: '1\n', stderr: '' } : { code: 255, stdout: '', stderr: 'sysctl: cannot stat' };
    };
    expect(isLocalRunner(fake)).toBe(false);
    expect(await readSysctl(fake, 'net.ipv4.ip_forward')).toBe('1');
    expect(await sysctlReaderFor(fake)('net.netfilter.nf_conntrack_max')).toBeUndefined();
    expect(calls).toEqual(['sysctl -n net.ipv4.ip_forward', 'sysctl -n net.netfilter.nf_conntrack_max']);
  });

  it('verify takes an explicit SysctlReader; the Runner then only runs nft', async () => {
    const plan = planDataplane(validateConfig({ egressInterfaces: ['eth0'], excludeDestinations: ['10.0.0.0/16'] }));
    const calls: string[] = [];
    const fake: Runner = async (argv) => {
      calls.push(argv.join(' '));
      return { code: 1, stdout: '', stderr: 'Error: No such file or directory' };
    };
    const values = new Map(plan.sysctls.map((s) => [s.key, s.value]));
    const v = await verify(plan, fake, { sysctl: async (k) => values.get(k) });
    expect(calls).toEqual(['nft -j list table ip natkeeper']);
    expect(v.differences.map((d) => d.name).some((n) => n.startsWith('sysctl'))).toBe(false);
    expect(v.ok).toBe(false); // the table is missing
  });
});
