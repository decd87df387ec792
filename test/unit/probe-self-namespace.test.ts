import { describe, expect, it } from 'vitest';
import type { Runner } from '../../src/dataplane/runner.js';
import { ensureSelfNamespace, removeSelfNamespace } from '../../src/probe/self-namespace.js';

/** A pretend `ip`: which namespaces are listed, whether they work, whether nkself0 exists. */
function fakeIp(state: { listed: string[]; alive: string[]; veth: boolean }) {
  const calls: string[] = [];
  const runner: Runner = async (argv) => {
    const cmd = argv.join(' ');
    calls.push(cmd);
    const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
    if (cmd === 'ip netns list') return ok(state.listed.map((n) => `${n} (id: 1)`).join('\n'));
    const inNs = /^ip -n (\S+) link show lo$/.exec(cmd);
    if (inNs) return state.alive.includes(inNs[1]!) ? ok() : { code: 1, stdout: '', stderr: 'Invalid argument' };
    if (cmd === 'ip link show nkself0') return state.veth ? ok() : { code: 1, stdout: '', stderr: 'does not exist' };
    return ok();
  };
  return { runner, calls };
}

describe('the self vantage’s probe namespace', () => {
  it('fresh: creates the namespace, the veth pair, addresses and the default route', async () => {
    const f = fakeIp({ listed: [], alive: [], veth: false });
    expect(await ensureSelfNamespace(f.runner, 'nk-self')).toEqual({ ok: true });
    expect(f.calls).toEqual([
      'ip netns list',
      'ip link del nkself0',
      'ip netns add nk-self',
      'ip link add nkself0 type veth peer name nkself1 netns nk-self',
      'ip addr replace 169.254.99.1/30 dev nkself0',
      'ip link set nkself0 up',
      'ip -n nk-self link set lo up',
      'ip -n nk-self addr replace 169.254.99.2/30 dev nkself1',
      'ip -n nk-self link set nkself1 up',
      'ip -n nk-self route replace default via 169.254.99.1',
    ]);
  });

  it('a working namespace with its veth: repaired in place, nothing recreated', async () => {
    const f = fakeIp({ listed: ['nk-self'], alive: ['nk-self'], veth: true });
    expect(await ensureSelfNamespace(f.runner, 'nk-self')).toEqual({ ok: true });
    expect(f.calls.some((c) => c.startsWith('ip netns add') || c.startsWith('ip link add') || c.startsWith('ip link del'))).toBe(false);
  });

  it('a stale name from an earlier agent (its mount namespace gone): removed and created again', async () => {
    const f = fakeIp({ listed: ['nk-self'], alive: [], veth: true });
    expect(await ensureSelfNamespace(f.runner, 'nk-self')).toEqual({ ok: true });
    expect(f.calls.slice(0, 6)).toEqual(['ip netns list', 'ip -n nk-self link show lo', 'ip netns del nk-self', 'rm -f /run/netns/nk-self', 'ip link del nkself0', 'ip netns add nk-self']);
  });

  it('a failing step says which command failed and why', async () => {
    const runner: Runner = async (argv) => (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'add' ? { code: 1, stdout: '', stderr: 'Operation not permitted' } : { code: argv.join(' ') === 'ip link show nkself0' ? 1 : 0, stdout: '', stderr: '' });
    expect(await ensureSelfNamespace(runner, 'nk-self')).toEqual({ ok: false, reason: '`ip netns add nk-self` failed (exit 1): Operation not permitted' });
  });

  it('refuses a name that is not a namespace name, before running anything', async () => {
    const f = fakeIp({ listed: [], alive: [], veth: false });
    await expect(ensureSelfNamespace(f.runner, '../etc')).rejects.toThrow(/probe\.selfNamespace: expected 1-64/);
    await expect(removeSelfNamespace(f.runner, 'a b')).rejects.toThrow(/probe\.selfNamespace/);
    expect(f.calls).toEqual([]);
  });
});
