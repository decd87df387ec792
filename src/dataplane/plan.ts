// Pure planning: from a validated DataplaneConfig, the sysctls to set and the
// nftables ruleset of natkeeper's own table. No I/O; the executor applies it.

import { RP_FILTER_VALUES, type DataplaneConfig } from './config.js';

export const NFT_FAMILY = 'ip';
export const NFT_TABLE = 'natkeeper';
export const NFT_TABLE_REF = `${NFT_FAMILY} ${NFT_TABLE}`;

export interface SysctlSetting {
  key: string;
  value: string;
  why: string;
}

export interface ChainSpec {
  name: string;
  type: string;
  hook: string;
  prio: number;
  policy: string;
}

/** One rule, in the canonical text both the plan and a read-back ruleset reduce to. */
export interface ChainRules {
  chain: string;
  rules: string[];
}

export interface DataplanePlan {
  config: DataplaneConfig;
  /** In apply order: forwarding is switched on last, once masquerade is in place. */
  sysctls: SysctlSetting[];
  /** The `nft -f` script: replaces natkeeper's table atomically, touches no other table. */
  ruleset: string;
  /** What `nft -j list table ip natkeeper` must reduce to. */
  expected: { chains: ChainSpec[]; rules: ChainRules[] };
}

/** `sysctl` key for a per-interface setting; names with dots use the slash form. */
export function ifaceKey(iface: string, leaf: string): string {
  return iface.includes('.') ? `net/ipv4/conf/${iface}/${leaf}` : `net.ipv4.conf.${iface}.${leaf}`;
}

export function planSysctls(c: DataplaneConfig): SysctlSetting[] {
  const rp = String(RP_FILTER_VALUES[c.rpFilter]);
  const out: SysctlSetting[] = [
    { key: 'net.ipv4.conf.all.rp_filter', value: rp, why: `rp_filter ${c.rpFilter}` },
    { key: 'net.ipv4.conf.default.rp_filter', value: rp, why: `rp_filter ${c.rpFilter}` },
    ...c.egressInterfaces.map((i) => ({ key: ifaceKey(i, 'rp_filter'), value: rp, why: `rp_filter ${c.rpFilter} on egress ${i}` })),
  ];
  const ct = c.conntrack;
  if (ct.max !== undefined) out.push({ key: 'net.netfilter.nf_conntrack_max', value: String(ct.max), why: 'conntrack table size' });
  out.push({
    key: 'net.netfilter.nf_conntrack_tcp_timeout_established',
    value: String(ct.tcpEstablishedTimeoutSec),
    why: 'idle timeout of established TCP flows (NAT Gateway: 350 s)',
  });
  if (ct.udpTimeoutSec !== undefined) out.push({ key: 'net.netfilter.nf_conntrack_udp_timeout', value: String(ct.udpTimeoutSec), why: 'UDP idle timeout' });
  if (ct.udpStreamTimeoutSec !== undefined)
    out.push({ key: 'net.netfilter.nf_conntrack_udp_timeout_stream', value: String(ct.udpStreamTimeoutSec), why: 'UDP stream idle timeout' });
  out.push({ key: 'net.ipv4.ip_forward', value: '1', why: 'forward packets (a NAT node)' });
  return out;
}

const quote = (s: string): string => `"${s}"`;
const set = (items: readonly string[]): string => `{ ${items.join(', ')} }`;

/** The canonical text of a masquerade rule (see ruleset-read.ts for the read-back side). */
export function canonicalMasquerade(oifnames: readonly string[], excludeDaddr: readonly string[]): string {
  const parts = [`oifname {${[...oifnames].sort().join(',')}}`];
  if (excludeDaddr.length) parts.push(`ip daddr != {${[...excludeDaddr].sort().join(',')}}`);
  parts.push('masquerade');
  return parts.join(' ');
}

export const POSTROUTING: ChainSpec = { name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' };

export function planRuleset(c: DataplaneConfig): { ruleset: string; expected: DataplanePlan['expected'] } {
  const match = [`oifname ${set(c.egressInterfaces.map(quote))}`];
  if (c.excludeDestinations.length) match.push(`ip daddr != ${set(c.excludeDestinations)}`);
  const body = [
    `  chain ${POSTROUTING.name} {`,
    `    type ${POSTROUTING.type} hook ${POSTROUTING.hook} priority srcnat; policy ${POSTROUTING.policy};`,
    `    ${match.join(' ')} counter masquerade comment "natkeeper: masquerade egress"`,
    `  }`,
  ].join('\n');
  // One nft transaction: create-if-missing, delete, define. Loading it twice gives the
  // same table; no other table is named.
  const ruleset = `table ${NFT_TABLE_REF} {}\ndelete table ${NFT_TABLE_REF}\ntable ${NFT_TABLE_REF} {\n${body}\n}\n`;
  return {
    ruleset,
    expected: { chains: [POSTROUTING], rules: [{ chain: POSTROUTING.name, rules: [canonicalMasquerade(c.egressInterfaces, c.excludeDestinations)] }] },
  };
}

export function planDataplane(config: DataplaneConfig): DataplanePlan {
  return { config, sysctls: planSysctls(config), ...planRuleset(config) };
}

/** Removes natkeeper's table if present, in one transaction; other tables are untouched. */
export const DELETE_TABLE_SCRIPT = `table ${NFT_TABLE_REF} {}\ndelete table ${NFT_TABLE_REF}\n`;
