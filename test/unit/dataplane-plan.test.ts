import { describe, expect, it } from 'vitest';
import { DataplaneConfigError, normalizeCidr, validateConfig } from '../../src/dataplane/config.js';
import { canonicalMasquerade, DELETE_TABLE_SCRIPT, planDataplane, planSysctls } from '../../src/dataplane/plan.js';

describe('validateConfig', () => {
  it('fills documented defaults: 350 s established TCP (NAT Gateway), loose rp_filter, kernel conntrack max', () => {
    const c = validateConfig({ egressInterfaces: ['eth0'] });
    expect(c).toEqual({ egressInterfaces: ['eth0'], excludeDestinations: [], conntrack: { tcpEstablishedTimeoutSec: 350 }, rpFilter: 'loose' });
  });

  it.each([
    [{ egressInterfaces: [] }, 'egressInterfaces'],
    [{ egressInterfaces: ['eth0', 'bad name'] }, 'egressInterfaces[1]'],
    [{ egressInterfaces: ['averyveryverylongname'] }, 'egressInterfaces[0]'],
    [{ egressInterfaces: ['eth0'], conntrack: { max: 10 } }, 'conntrack.max'],
    [{ egressInterfaces: ['eth0'], conntrack: { tcpEstablishedTimeoutSec: 0 } }, 'conntrack.tcpEstablishedTimeoutSec'],
    [{ egressInterfaces: ['eth0'], conntrack: { udpTimeoutSec: 1.5 } }, 'conntrack.udpTimeoutSec'],
    [{ egressInterfaces: ['eth0'], rpFilter: 'sometimes' }, 'rpFilter'],
    [{ egressInterfaces: ['eth0'], excludeDestinations: ['10.0.0.0/40'] }, 'excludeDestinations[0]'],
  ])('rejects %j naming %s', (input, field) => {
    try {
      validateConfig(input);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DataplaneConfigError);
      expect((e as DataplaneConfigError).field).toBe(field);
      expect((e as Error).message).toMatch(/expected/);
    }
  });

  it.each([
    ['10.0.0.0/16', '10.0.0.0/16'],
    ['10.0.3.7/16', '10.0.0.0/16'],
    ['192.0.2.1', '192.0.2.1'],
    ['192.0.2.1/32', '192.0.2.1'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('normalizeCidr(%s) = %s', (input, out) => expect(normalizeCidr('x', input)).toBe(out));

  it('dedupes interfaces and sorts exclusions', () => {
    const c = validateConfig({ egressInterfaces: ['eth1', 'eth0', 'eth1'], excludeDestinations: ['172.16.0.0/12', '10.0.0.0/16', '10.0.0.0/16'] });
    expect(c.egressInterfaces).toEqual(['eth1', 'eth0']);
    expect(c.excludeDestinations).toEqual(['10.0.0.0/16', '172.16.0.0/12']);
  });
});

describe('planSysctls', () => {
  it('sets rp_filter, conntrack, and forwarding last', () => {
    const s = planSysctls(
      validateConfig({ egressInterfaces: ['eth0', 'eth1'], conntrack: { max: 131072, tcpEstablishedTimeoutSec: 600, udpTimeoutSec: 60, udpStreamTimeoutSec: 180 }, rpFilter: 'strict' }),
    );
    expect(s.map((x) => `${x.key}=${x.value}`)).toEqual([
      'net.ipv4.conf.all.rp_filter=1',
      'net.ipv4.conf.default.rp_filter=1',
      'net.ipv4.conf.eth0.rp_filter=1',
      'net.ipv4.conf.eth1.rp_filter=1',
      'net.netfilter.nf_conntrack_max=131072',
      'net.netfilter.nf_conntrack_tcp_timeout_established=600',
      'net.netfilter.nf_conntrack_udp_timeout=60',
      'net.netfilter.nf_conntrack_udp_timeout_stream=180',
      'net.ipv4.ip_forward=1',
    ]);
  });

  it('leaves unset conntrack options to the kernel; dotted interface names use the slash form', () => {
    const keys = planSysctls(validateConfig({ egressInterfaces: ['eth0.100'], rpFilter: 'off' })).map((x) => `${x.key}=${x.value}`);
    expect(keys).toEqual([
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net/ipv4/conf/eth0.100/rp_filter=0',
      'net.netfilter.nf_conntrack_tcp_timeout_established=350',
      'net.ipv4.ip_forward=1',
    ]);
  });
});

describe('planRuleset', () => {
  it('replaces only table ip natkeeper, atomically, with masquerade on the egress interfaces', () => {
    const p = planDataplane(validateConfig({ egressInterfaces: ['eth0', 'eth1'], excludeDestinations: ['10.0.0.0/16'] }));
    expect(p.ruleset).toBe(
      [
        'table ip natkeeper {}',
        'delete table ip natkeeper',
        'table ip natkeeper {',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    oifname { "eth0", "eth1" } ip daddr != { 10.0.0.0/16 } counter masquerade comment "natkeeper: masquerade egress"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    // Every table statement names natkeeper's own table.
    for (const line of p.ruleset.split('\n').filter((l) => /^(table|delete|add|flush)/.test(l))) expect(line).toMatch(/ ip natkeeper\b/);
    expect(p.expected.rules).toEqual([{ chain: 'postrouting', rules: ['oifname {eth0,eth1} ip daddr != {10.0.0.0/16} masquerade'] }]);
  });

  it('omits the exclusion when there is none; planning is deterministic', () => {
    const c = validateConfig({ egressInterfaces: ['ens5'] });
    expect(planDataplane(c)).toEqual(planDataplane(c));
    expect(planDataplane(c).ruleset).toContain('    oifname { "ens5" } counter masquerade');
    expect(canonicalMasquerade(['ens5'], [])).toBe('oifname {ens5} masquerade');
  });

  it('the delete script names only natkeeper', () => {
    expect(DELETE_TABLE_SCRIPT).toBe('table ip natkeeper {}\ndelete table ip natkeeper\n');
  });
});
