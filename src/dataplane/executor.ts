// Applying, verifying and removing the data plane through an injected Runner.
// apply is idempotent (a second apply on a correct node changes nothing), verify
// names every difference, reset removes only what natkeeper made.

import { DELETE_TABLE_SCRIPT, NFT_FAMILY, NFT_TABLE, NFT_TABLE_REF, type DataplanePlan } from './plan.js';
import { diffRuleset, diffSysctls, readRuleset, type Difference, type ReadRuleset } from './ruleset-read.js';
import { describeFailure, type Runner } from './runner.js';
import { sysctlReaderFor, type SysctlReader } from './sysctl.js';
import type { StateStore } from './state.js';

export interface ApplyResult {
  ok: boolean;
  /** What this apply changed ("nft table ip natkeeper", "sysctl net.ipv4.ip_forward"); empty when already correct. */
  changed: string[];
  /** Differences left after applying (empty when ok). */
  differences: Difference[];
  reason?: string;
}

export interface VerifyResult {
  ok: boolean;
  differences: Difference[];
}

export interface ResetResult {
  ok: boolean;
  removedTable: boolean;
  restored: { key: string; value: string }[];
  notes: string[];
  reason?: string;
}

export interface SelfTestCheck {
  name: 'forwarding' | 'ruleset' | 'probe';
  ok: boolean;
  detail: string;
}

export interface SelfTestResult {
  ok: boolean;
  checks: SelfTestCheck[];
  reason?: string;
}

/** A probe through this node (e.g. egress from a host routed through it); ok with a detail. */
export type Probe = () => Promise<{ ok: boolean; detail: string }>;

/**
 * Reads one sysctl; undefined when the key does not exist (or cannot be read).
 * The local runner's are read from /proc/sys (no process); others' with `sysctl -n`.
 */
export async function readSysctl(runner: Runner, key: string): Promise<string | undefined> {
  return sysctlReaderFor(runner)(key);
}

export async function readSysctls(runner: Runner, keys: readonly string[], read: SysctlReader = sysctlReaderFor(runner)): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const k of keys) {
    const v = await read(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** natkeeper's table as read back, or undefined when it does not exist. */
export async function readTable(runner: Runner): Promise<ReadRuleset | undefined> {
  const argv = ['nft', '-j', 'list', 'table', NFT_FAMILY, NFT_TABLE];
  const r = await runner(argv);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return undefined;
    throw new Error(describeFailure(argv, r));
  }
  return readRuleset(r.stdout);
}

export interface VerifyOptions {
  /** How sysctls are read; default sysctlReaderFor(runner) (/proc/sys for the local runner). */
  sysctl?: SysctlReader;
}

export async function verify(plan: DataplanePlan, runner: Runner, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const sysctls = await readSysctls(
    runner,
    plan.sysctls.map((s) => s.key),
    opts.sysctl,
  );
  const differences = [...diffSysctls(plan.sysctls, sysctls), ...diffRuleset(plan.expected, await readTable(runner), NFT_TABLE_REF)];
  return { ok: differences.length === 0, differences };
}

export interface ApplyOptions {
  /** Where the sysctls' previous values are kept for reset; none when omitted. */
  state?: StateStore;
  now?: () => Date;
}

export async function apply(plan: DataplanePlan, runner: Runner, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const changed: string[] = [];
  const fail = (reason: string): ApplyResult => ({ ok: false, changed, differences: [], reason });
  try {
    const before = await readSysctls(
      runner,
      plan.sysctls.map((s) => s.key),
    );
    const toSet = plan.sysctls.filter((s) => before.get(s.key) !== s.value);
    // Record the old values before the first change, keeping any recorded earlier.
    if (opts.state && toSet.length) {
      const saved = await opts.state.read();
      const sysctls = { ...(saved?.sysctls ?? {}) };
      let added = false;
      for (const s of toSet) {
        const old = before.get(s.key);
        if (old !== undefined && !(s.key in sysctls)) {
          sysctls[s.key] = old;
          added = true;
        }
      }
      if (added || !saved) await opts.state.write({ version: 1, savedAt: saved?.savedAt ?? (opts.now?.() ?? new Date()).toISOString(), sysctls });
    }
    // Masquerade first, so nothing is forwarded untranslated; the table load also
    // loads conntrack, whose sysctls exist only then.
    if (diffRuleset(plan.expected, await readTable(runner), NFT_TABLE_REF).length) {
      const argv = ['nft', '-f', '-'];
      const r = await runner(argv, { input: plan.ruleset });
      if (r.code !== 0) return fail(`loading the nftables ruleset: ${describeFailure(argv, r)}`);
      changed.push(`nft table ${NFT_TABLE_REF}`);
    }
    for (const s of toSet) {
      const argv = ['sysctl', '-w', `${s.key}=${s.value}`];
      const r = await runner(argv);
      if (r.code !== 0) {
        const hint = /Invalid argument|Read-only|Permission denied/i.test(r.stderr)
          ? ' (the kernel refuses it here; conntrack max is global and read-only outside the initial network namespace)'
          : /cannot stat|No such file/i.test(r.stderr)
            ? ' (the key does not exist: is the module loaded / the interface present?)'
            : '';
        return fail(`setting ${s.key}=${s.value} (${s.why}): ${describeFailure(argv, r)}${hint}`);
      }
      changed.push(`sysctl ${s.key}`);
    }
    const v = await verify(plan, runner);
    if (!v.ok) return { ok: false, changed, differences: v.differences, reason: `after apply, ${formatDifferences(v.differences)}` };
    return { ok: true, changed, differences: [] };
  } catch (e) {
    return fail((e as Error).message);
  }
}

export interface ResetOptions {
  state?: StateStore;
}

/** Removes natkeeper's table and restores the sysctls it saved; nothing else. */
export async function reset(runner: Runner, opts: ResetOptions = {}): Promise<ResetResult> {
  const notes: string[] = [];
  const restored: ResetResult['restored'] = [];
  let removedTable = false;
  try {
    if (await readTable(runner)) {
      const argv = ['nft', '-f', '-'];
      const r = await runner(argv, { input: DELETE_TABLE_SCRIPT });
      if (r.code !== 0) return { ok: false, removedTable, restored, notes, reason: `removing nft table ${NFT_TABLE_REF}: ${describeFailure(argv, r)}` };
      removedTable = true;
    } else notes.push(`nft table ${NFT_TABLE_REF} was not there`);
    const saved = await opts.state?.read();
    if (!saved) {
      notes.push(
        opts.state
          ? `no saved state at ${opts.state.where}: sysctls left as they are`
          : 'no state file given: sysctls left as they are',
      );
      return { ok: true, removedTable, restored, notes };
    }
    // Forwarding goes off first (reverse of apply), then the rest.
    const keys = Object.keys(saved.sysctls).sort((a, b) => Number(b === 'net.ipv4.ip_forward') - Number(a === 'net.ipv4.ip_forward'));
    for (const key of keys) {
      const value = saved.sysctls[key]!;
      const argv = ['sysctl', '-w', `${key}=${value}`];
      const r = await runner(argv);
      if (r.code !== 0) notes.push(`could not restore ${key}=${value}: ${describeFailure(argv, r)}`);
      else restored.push({ key, value });
    }
    if (restored.length === keys.length) await opts.state!.remove();
    else return { ok: false, removedTable, restored, notes, reason: `some sysctls were not restored; state kept at ${opts.state!.where}` };
    return { ok: true, removedTable, restored, notes };
  } catch (e) {
    return { ok: false, removedTable, restored, notes, reason: (e as Error).message };
  }
}

export async function selfTest(plan: DataplanePlan, runner: Runner, probe?: Probe): Promise<SelfTestResult> {
  const checks: SelfTestCheck[] = [];
  try {
    const fwd = await readSysctl(runner, 'net.ipv4.ip_forward');
    checks.push({ name: 'forwarding', ok: fwd === '1', detail: `net.ipv4.ip_forward = ${fwd ?? 'unreadable'}` });
    const diffs = diffRuleset(plan.expected, await readTable(runner), NFT_TABLE_REF);
    checks.push({ name: 'ruleset', ok: diffs.length === 0, detail: diffs.length ? formatDifferences(diffs) : `nft table ${NFT_TABLE_REF} as planned` });
    if (probe) {
      const p = await probe().catch((e: unknown) => ({ ok: false, detail: `probe threw: ${(e as Error).message}` }));
      checks.push({ name: 'probe', ok: p.ok, detail: p.detail });
    }
  } catch (e) {
    return { ok: false, checks, reason: `self-test could not run: ${(e as Error).message}` };
  }
  const failed = checks.filter((c) => !c.ok);
  return failed.length ? { ok: false, checks, reason: `self-test failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}` } : { ok: true, checks };
}

export interface SetupResult {
  ok: boolean;
  apply: ApplyResult;
  selfTest?: SelfTestResult;
  reason?: string;
}

/** apply then self-test; a node whose setup returns ok: false must not report healthy. */
export async function setup(plan: DataplanePlan, runner: Runner, opts: ApplyOptions & { probe?: Probe } = {}): Promise<SetupResult> {
  const a = await apply(plan, runner, opts);
  if (!a.ok) return { ok: false, apply: a, reason: `setup failed: ${a.reason ?? 'unknown'}` };
  const t = await selfTest(plan, runner, opts.probe);
  return t.ok ? { ok: true, apply: a, selfTest: t } : { ok: false, apply: a, selfTest: t, reason: t.reason! };
}

export function formatDifferences(d: readonly Difference[]): string {
  return d.map((x) => `${x.name}: expected ${x.expected}, got ${x.actual}`).join('; ');
}
