// Reading natkeeper's table back (`nft -j list table ip natkeeper`) and reducing it
// to the plan's canonical form, so verify can name each difference. Pure.

import type { ChainRules, ChainSpec, DataplanePlan } from './plan.js';

export interface ReadRuleset {
  chains: ChainSpec[];
  rules: ChainRules[];
}

export interface Difference {
  /** What differs, e.g. "sysctl net.ipv4.ip_forward" or "nft chain postrouting hook". */
  name: string;
  expected: string;
  actual: string;
}

type J = Record<string, unknown>;
const isObj = (v: unknown): v is J => typeof v === 'object' && v !== null && !Array.isArray(v);

function values(right: unknown): string[] {
  if (isObj(right) && Array.isArray(right.set)) return right.set.flatMap(values);
  if (typeof right === 'string') return [right];
  if (typeof right === 'number') return [String(right)];
  if (isObj(right) && isObj(right.prefix)) {
    const p = right.prefix;
    return [p.len === 32 ? String(p.addr) : `${String(p.addr)}/${String(p.len)}`];
  }
  return [JSON.stringify(right)];
}

/** One rule's expressions in canonical text; counters are ignored, unknown expressions kept verbatim. */
export function canonicalRule(expr: readonly unknown[]): string {
  const parts: string[] = [];
  for (const e of expr) {
    if (!isObj(e)) continue;
    if ('counter' in e) continue;
    if ('masquerade' in e) {
      parts.push('masquerade');
      continue;
    }
    const m = e.match;
    if (isObj(m) && isObj(m.left)) {
      const op = m.op === '==' || m.op === 'in' ? '' : `${String(m.op)} `;
      const left = m.left;
      const vs = `{${values(m.right).sort().join(',')}}`;
      if (isObj(left.meta) && left.meta.key === 'oifname') {
        parts.push(`oifname ${op}${vs}`);
        continue;
      }
      if (isObj(left.payload) && left.payload.protocol === 'ip') {
        parts.push(`ip ${String(left.payload.field)} ${op}${vs}`);
        continue;
      }
    }
    parts.push(`?${JSON.stringify(e)}`);
  }
  return parts.join(' ');
}

/** Reduces `nft -j list table …` output; undefined when the output holds no table. */
export function readRuleset(json: string): ReadRuleset | undefined {
  const doc = JSON.parse(json) as { nftables?: unknown[] };
  const items = (doc.nftables ?? []).filter(isObj);
  if (!items.some((i) => 'table' in i)) return undefined;
  const chains: ChainSpec[] = [];
  const rules = new Map<string, string[]>();
  for (const i of items) {
    if (isObj(i.chain)) {
      const c = i.chain;
      const str = (v: unknown): string => (typeof v === 'string' ? v : '-');
      chains.push({ name: str(c.name), type: str(c.type), hook: str(c.hook), prio: typeof c.prio === 'number' ? c.prio : NaN, policy: str(c.policy) });
      if (!rules.has(str(c.name))) rules.set(str(c.name), []);
    }
    if (isObj(i.rule)) {
      const r = i.rule;
      const list = rules.get(String(r.chain)) ?? [];
      list.push(canonicalRule(Array.isArray(r.expr) ? r.expr : []));
      rules.set(String(r.chain), list);
    }
  }
  return { chains, rules: [...rules].map(([chain, list]) => ({ chain, rules: list })) };
}

/** Every difference between the plan's table and what was read back (undefined: no table). */
export function diffRuleset(expected: DataplanePlan['expected'], actual: ReadRuleset | undefined, tableRef: string): Difference[] {
  if (!actual) return [{ name: `nft table ${tableRef}`, expected: 'present', actual: 'missing' }];
  const out: Difference[] = [];
  for (const want of expected.chains) {
    const got = actual.chains.find((c) => c.name === want.name);
    if (!got) {
      out.push({ name: `nft chain ${want.name}`, expected: 'present', actual: 'missing' });
      continue;
    }
    for (const k of ['type', 'hook', 'prio', 'policy'] as const) {
      if (String(got[k]) !== String(want[k])) out.push({ name: `nft chain ${want.name} ${k}`, expected: String(want[k]), actual: String(got[k]) });
    }
  }
  for (const got of actual.chains) {
    if (!expected.chains.some((c) => c.name === got.name)) out.push({ name: `nft chain ${got.name}`, expected: 'absent', actual: 'present' });
  }
  for (const want of expected.rules) {
    const got = actual.rules.find((r) => r.chain === want.chain)?.rules;
    if (!got) continue; // the missing chain is already reported
    if (got.join('\n') === want.rules.join('\n')) continue;
    for (const r of want.rules) if (!got.includes(r)) out.push({ name: `nft rule ${want.chain}`, expected: r, actual: 'missing' });
    for (const r of got) if (!want.rules.includes(r)) out.push({ name: `nft rule ${want.chain}`, expected: 'absent', actual: r });
    if (out.length === 0) out.push({ name: `nft rule order ${want.chain}`, expected: want.rules.join(' ; '), actual: got.join(' ; ') });
  }
  return out;
}

/** Differences between planned sysctls and values read back (missing keys read as undefined). */
export function diffSysctls(planned: readonly { key: string; value: string }[], actual: ReadonlyMap<string, string>): Difference[] {
  const out: Difference[] = [];
  for (const s of planned) {
    const got = actual.get(s.key);
    if (got === undefined) out.push({ name: `sysctl ${s.key}`, expected: s.value, actual: 'missing' });
    else if (got.trim() !== s.value) out.push({ name: `sysctl ${s.key}`, expected: s.value, actual: got.trim() });
  }
  return out;
}
