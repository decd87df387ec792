import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/dataplane/config.js';
import { planDataplane } from '../../src/dataplane/plan.js';
import { canonicalRule, diffRuleset, diffSysctls, readRuleset } from '../../src/dataplane/ruleset-read.js';

// What nft 1.0.6 prints for the planned table (`nft -j list table ip natkeeper`).
const meta = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };
const table = { table: { family: 'ip', name: 'natkeeper', handle: 1 } };
const chain = { chain: { family: 'ip', table: 'natkeeper', name: 'postrouting', handle: 1, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } };
const oif = (right: unknown) => ({ match: { op: '==', left: { meta: { key: 'oifname' } }, right } });
const daddrNot = (right: unknown) => ({ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right } });
const rule = (expr: unknown[]) => ({ rule: { family: 'ip', table: 'natkeeper', chain: 'postrouting', handle: 3, comment: 'natkeeper: masquerade egress', expr } });
const doc = (...items: unknown[]) => JSON.stringify({ nftables: [meta, ...items] });
const planned = planDataplane(validateConfig({ egressInterfaces: ['eth0', 'eth1'], excludeDestinations: ['10.0.0.0/16'] }));
const good = rule([oif({ set: ['eth0', 'eth1'] }), daddrNot({ prefix: { addr: '10.0.0.0', len: 16 } }), { counter: { packets: 9, bytes: 999 } }, { masquerade: null }]);

describe('reading the table back', () => {
  it('reduces the real nft JSON to the plan (counters ignored)', () => {
    const read = readRuleset(doc(table, chain, good));
    expect(diffRuleset(planned.expected, read, 'ip natkeeper')).toEqual([]);
  });

  it('a one-element set and a plain value read the same', () => {
    expect(canonicalRule([oif('eth0'), daddrNot({ set: [{ prefix: { addr: '10.0.0.0', len: 16 } }] }), { masquerade: null }])).toBe(
      canonicalRule([oif({ set: ['eth0'] }), daddrNot({ prefix: { addr: '10.0.0.0', len: 16 } }), { masquerade: null }]),
    );
  });

  it('no table: one difference', () => {
    expect(readRuleset(doc())).toBeUndefined();
    expect(diffRuleset(planned.expected, undefined, 'ip natkeeper')).toEqual([{ name: 'nft table ip natkeeper', expected: 'present', actual: 'missing' }]);
  });

  it('names each difference', () => {
    const wrongChain = { chain: { ...chain.chain, prio: 0, policy: 'drop' } };
    const extraChain = { chain: { ...chain.chain, name: 'forward', type: 'filter', hook: 'forward' } };
    const wrongRule = rule([oif({ set: ['eth0'] }), { masquerade: null }]);
    const read = readRuleset(doc(table, wrongChain, extraChain, wrongRule));
    expect(diffRuleset(planned.expected, read, 'ip natkeeper')).toEqual([
      { name: 'nft chain postrouting prio', expected: '100', actual: '0' },
      { name: 'nft chain postrouting policy', expected: 'accept', actual: 'drop' },
      { name: 'nft chain forward', expected: 'absent', actual: 'present' },
      { name: 'nft rule postrouting', expected: 'oifname {eth0,eth1} ip daddr != {10.0.0.0/16} masquerade', actual: 'missing' },
      { name: 'nft rule postrouting', expected: 'absent', actual: 'oifname {eth0} masquerade' },
    ]);
  });

  it('a missing chain and an unknown expression', () => {
    expect(diffRuleset(planned.expected, readRuleset(doc(table)), 'ip natkeeper')).toEqual([{ name: 'nft chain postrouting', expected: 'present', actual: 'missing' }]);
    expect(canonicalRule([{ accept: null }])).toBe('?{"accept":null}');
  });

  it('an extra rule is reported', () => {
    const extra = rule([{ accept: null }]);
    expect(diffRuleset(planned.expected, readRuleset(doc(table, chain, good, extra)), 'ip natkeeper')).toEqual([
      { name: 'nft rule postrouting', expected: 'absent', actual: '?{"accept":null}' },
    ]);
  });
});

describe('diffSysctls', () => {
  it('names wrong and missing keys', () => {
    const want = [
      { key: 'net.ipv4.ip_forward', value: '1' },
      { key: 'net.netfilter.nf_conntrack_tcp_timeout_established', value: '350' },
      { key: 'net.ipv4.conf.all.rp_filter', value: '2' },
    ];
    const got = new Map([
      ['net.ipv4.ip_forward', '0'],
      ['net.ipv4.conf.all.rp_filter', '2\n'],
    ]);
    expect(diffSysctls(want, got)).toEqual([
      { name: 'sysctl net.ipv4.ip_forward', expected: '1', actual: '0' },
      { name: 'sysctl net.netfilter.nf_conntrack_tcp_timeout_established', expected: '350', actual: 'missing' },
    ]);
  });
});
