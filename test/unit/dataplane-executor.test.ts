import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/dataplane/config.js';
import { apply, reset, selfTest, setup, verify } from '../../src/dataplane/executor.js';
import { planDataplane } from '../../src/dataplane/plan.js';
import type { Runner } from '../../src/dataplane/runner.js';
import { memoryStateStore } from '../../src/dataplane/state.js';

/** A pretend kernel behind the Runner: sysctls, and nft tables as the scripts loaded into them. */
function fakeKernel(init: Record<string, string>, opts: { readOnly?: string[] } = {}) {
  const sysctls = new Map(Object.entries(init));
  const tables = new Map<string, string>();
  const calls: string[] = [];
  const runner: Runner = async (argv, o = {}) => {
    calls.push(argv.join(' '));
    const [cmd, ...a] = argv;
    if (cmd === 'sysctl' && a[0] === '-n') {
      const v = sysctls.get(a[1]!);
      return v === undefined ? { code: 255, stdout: '', stderr: `sysctl: cannot stat /proc/sys/${a[1]}: No such file or directory` } : { code: 0, stdout: `${v}\n`, stderr: '' };
    }
    if (cmd === 'sysctl' && a[0] === '-w') {
      const [k, v] = a[1]!.split('=') as [string, string];
      if (opts.readOnly?.includes(k)) return { code: 255, stdout: '', stderr: `sysctl: setting key "${k}": Invalid argument` };
      if (!sysctls.has(k)) return { code: 255, stdout: '', stderr: `sysctl: cannot stat /proc/sys/${k}: No such file or directory` };
      sysctls.set(k, v);
      return { code: 0, stdout: `${k} = ${v}\n`, stderr: '' };
    }
    if (cmd === 'nft' && a[0] === '-f') {
      const script = o.input ?? '';
      // Only the shapes natkeeper loads: replace or delete "ip natkeeper".
      const body = /^table ip natkeeper \{\n([\s\S]*)\n\}\n$/m.exec(script.split('delete table ip natkeeper\n')[1] ?? '');
      tables.delete('ip natkeeper');
      if (body) tables.set('ip natkeeper', body[1]!);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (cmd === 'nft' && a.join(' ') === '-j list table ip natkeeper') {
      const body = tables.get('ip natkeeper');
      if (body === undefined) return { code: 1, stdout: '', stderr: 'Error: No such file or directory\nlist table ip natkeeper' };
      const oif = /oifname \{ ([^}]*) \}/.exec(body)![1]!.split(', ').map((s) => s.replaceAll('"', ''));
      const ex = /ip daddr != \{ ([^}]*) \}/.exec(body)?.[1]?.split(', ');
      const expr: unknown[] = [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: oif } } }];
      if (ex) {
        const [addr, len] = ex[0]!.split('/');
        expr.push({ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr, len: Number(len) } } } });
      }
      expr.push({ counter: { packets: 0, bytes: 0 } }, { masquerade: null });
      return {
        code: 0,
        stderr: '',
        stdout: JSON.stringify({
          nftables: [
            { table: { family: 'ip', name: 'natkeeper', handle: 1 } },
            { chain: { family: 'ip', table: 'natkeeper', name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
            { rule: { family: 'ip', table: 'natkeeper', chain: 'postrouting', expr } },
          ],
        }),
      };
    }
    return { code: 127, stdout: '', stderr: `unexpected ${argv.join(' ')}` };
  };
  return { runner, sysctls, tables, calls, mutations: () => calls.filter((c) => c.startsWith('sysctl -w') || c.startsWith('nft -f')) };
}

const bare = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.rp_filter': '1',
  'net.ipv4.conf.default.rp_filter': '1',
  'net.ipv4.conf.eth0.rp_filter': '1',
  'net.netfilter.nf_conntrack_tcp_timeout_established': '432000',
};
const plan = planDataplane(validateConfig({ egressInterfaces: ['eth0'], excludeDestinations: ['10.0.0.0/16'] }));

describe('apply / verify / reset', () => {
  it('apply sets everything, masquerade before forwarding, saves the old values; a second apply changes nothing', async () => {
    const k = fakeKernel(bare);
    const state = memoryStateStore();
    const r = await apply(plan, k.runner, { state, now: () => new Date('2026-01-01T00:00:00Z') });
    expect(r).toEqual({
      ok: true,
      differences: [],
      changed: [
        'nft table ip natkeeper',
        'sysctl net.ipv4.conf.all.rp_filter',
        'sysctl net.ipv4.conf.default.rp_filter',
        'sysctl net.ipv4.conf.eth0.rp_filter',
        'sysctl net.netfilter.nf_conntrack_tcp_timeout_established',
        'sysctl net.ipv4.ip_forward',
      ],
    });
    expect(k.mutations().at(-1)).toBe('sysctl -w net.ipv4.ip_forward=1');
    expect(state.state).toEqual({ version: 1, savedAt: '2026-01-01T00:00:00.000Z', sysctls: bare });
    expect(await verify(plan, k.runner)).toEqual({ ok: true, differences: [] });
    const before = k.mutations().length;
    expect(await apply(plan, k.runner, { state })).toEqual({ ok: true, changed: [], differences: [] });
    expect(k.mutations().length).toBe(before);
    // The saved originals survive a later apply that changes forwarding again.
    k.sysctls.set('net.ipv4.ip_forward', '0');
    await apply(plan, k.runner, { state });
    expect(state.state!.sysctls['net.ipv4.ip_forward']).toBe('0');
    expect(state.state!.sysctls['net.netfilter.nf_conntrack_tcp_timeout_established']).toBe('432000');
  });

  it('verify names each difference', async () => {
    const k = fakeKernel(bare);
    expect((await verify(plan, k.runner)).differences.map((d) => d.name)).toEqual([
      'sysctl net.ipv4.conf.all.rp_filter',
      'sysctl net.ipv4.conf.default.rp_filter',
      'sysctl net.ipv4.conf.eth0.rp_filter',
      'sysctl net.netfilter.nf_conntrack_tcp_timeout_established',
      'sysctl net.ipv4.ip_forward',
      'nft table ip natkeeper',
    ]);
  });

  it('a sysctl the kernel refuses fails apply with the key, the reason and a hint; forwarding stays off', async () => {
    const k = fakeKernel({ ...bare, 'net.netfilter.nf_conntrack_max': '262144' }, { readOnly: ['net.netfilter.nf_conntrack_max'] });
    const p = planDataplane(validateConfig({ egressInterfaces: ['eth0'], conntrack: { max: 500000 } }));
    const r = await apply(p, k.runner);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^setting net\.netfilter\.nf_conntrack_max=500000 \(conntrack table size\): `sysctl -w net\.netfilter\.nf_conntrack_max=500000` failed \(exit 255\): .*Invalid argument.*read-only outside the initial network namespace/);
    expect(k.sysctls.get('net.ipv4.ip_forward')).toBe('0');
    const s = await setup(p, k.runner);
    expect(s.ok).toBe(false);
    expect(s.reason).toMatch(/^setup failed: setting net\.netfilter\.nf_conntrack_max/);
  });

  it('a missing interface key is named', async () => {
    const k = fakeKernel(bare);
    const r = await apply(planDataplane(validateConfig({ egressInterfaces: ['eth9'] })), k.runner);
    expect(r.reason).toMatch(/net\.ipv4\.conf\.eth9\.rp_filter.*the key does not exist/);
  });

  it('reset removes the table and restores saved sysctls (forwarding first); without state it leaves sysctls with a note', async () => {
    const k = fakeKernel(bare);
    const state = memoryStateStore();
    await apply(plan, k.runner, { state });
    const r = await reset(k.runner, { state });
    expect(r.ok).toBe(true);
    expect(r.removedTable).toBe(true);
    expect(r.restored[0]).toEqual({ key: 'net.ipv4.ip_forward', value: '0' });
    expect(Object.fromEntries(k.sysctls)).toEqual(bare);
    expect(k.tables.size).toBe(0);
    expect(state.state).toBeUndefined();

    await apply(plan, k.runner);
    const r2 = await reset(k.runner, { state });
    expect(r2).toEqual({ ok: true, removedTable: true, restored: [], notes: ['no saved state at memory: sysctls left as they are'] });
    expect(k.sysctls.get('net.ipv4.ip_forward')).toBe('1');
    const r3 = await reset(k.runner);
    expect(r3.notes).toEqual(['nft table ip natkeeper was not there', 'no state file given: sysctls left as they are']);
  });
});

describe('selfTest', () => {
  it('passes with forwarding, the ruleset and a passing probe', async () => {
    const k = fakeKernel(bare);
    await apply(plan, k.runner);
    const t = await selfTest(plan, k.runner, async () => ({ ok: true, detail: 'seen 203.0.113.5' }));
    expect(t).toEqual({
      ok: true,
      checks: [
        { name: 'forwarding', ok: true, detail: 'net.ipv4.ip_forward = 1' },
        { name: 'ruleset', ok: true, detail: 'nft table ip natkeeper as planned' },
        { name: 'probe', ok: true, detail: 'seen 203.0.113.5' },
      ],
    });
  });

  it('says why it fails', async () => {
    const k = fakeKernel(bare);
    const t = await selfTest(plan, k.runner, async () => {
      throw new Error('timeout');
    });
    expect(t.ok).toBe(false);
    expect(t.reason).toBe(
      'self-test failed: forwarding: net.ipv4.ip_forward = 0; ruleset: nft table ip natkeeper: expected present, got missing; probe: probe threw: timeout',
    );
    await apply(plan, k.runner);
    const s = await setup(plan, k.runner, { probe: async () => ({ ok: false, detail: 'no answer from 198.51.100.10' }) });
    expect(s.ok).toBe(false);
    expect(s.reason).toBe('self-test failed: probe: no answer from 198.51.100.10');
  });
});
