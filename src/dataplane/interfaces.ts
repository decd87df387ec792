// Egress interfaces by MAC, never by name: IMDS says which MACs (ENIs) the
// instance has and their device numbers; `ip -j link` says which kernel link carries
// each MAC. A freshly attached ENI may not have its link yet, so resolution retries
// until every MAC is present, within a bound.

import type { ImdsInterface } from '../aws/imds.js';
import { describeFailure, type Runner } from './runner.js';

export interface KernelLink {
  ifname: string;
  address: string;
}

export interface ResolvedInterface {
  deviceNumber: number;
  mac: string;
  name: string;
}

export interface InterfaceMatch {
  resolved: ResolvedInterface[];
  /** MACs IMDS lists that no kernel link carries (yet). */
  missing: string[];
}

/** Pure: pairs IMDS's MACs with the kernel's links (MACs compared case-insensitively). */
export function matchInterfaces(imds: readonly Pick<ImdsInterface, 'mac' | 'deviceNumber'>[], links: readonly KernelLink[]): InterfaceMatch {
  const byMac = new Map(links.filter((l) => l.address).map((l) => [l.address.toLowerCase(), l.ifname]));
  const resolved: ResolvedInterface[] = [];
  const missing: string[] = [];
  for (const i of [...imds].sort((a, b) => a.deviceNumber - b.deviceNumber)) {
    const name = byMac.get(i.mac.toLowerCase());
    if (name) resolved.push({ deviceNumber: i.deviceNumber, mac: i.mac.toLowerCase(), name });
    else missing.push(i.mac.toLowerCase());
  }
  return { resolved, missing };
}

/** Parses `ip -j link` output. */
export function parseIpLinks(json: string): KernelLink[] {
  const list = JSON.parse(json) as { ifname?: unknown; address?: unknown }[];
  return list
    .filter((l) => typeof l.ifname === 'string')
    .map((l) => ({ ifname: l.ifname as string, address: typeof l.address === 'string' ? l.address : '' }));
}

export async function listLinks(runner: Runner): Promise<KernelLink[]> {
  const argv = ['ip', '-j', 'link', 'show'];
  const r = await runner(argv);
  if (r.code !== 0) throw new Error(describeFailure(argv, r));
  return parseIpLinks(r.stdout);
}

export interface ResolveOptions {
  /** Which ENIs to use, by device number (default: every ENI IMDS lists). */
  deviceNumbers?: readonly number[];
  /** Attempts before giving up (default 20). */
  attempts?: number;
  /** Wait between attempts (default 500 ms). */
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Resolves the egress interfaces' names, re-reading IMDS and the links until every
 * wanted MAC has a link; throws naming the missing MACs after `attempts` tries.
 */
export async function resolveEgressInterfaces(
  imds: () => Promise<ImdsInterface[]>,
  links: () => Promise<KernelLink[]>,
  opts: ResolveOptions = {},
): Promise<ResolvedInterface[]> {
  const attempts = opts.attempts ?? 20;
  const delayMs = opts.delayMs ?? 500;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    let wanted = await imds();
    if (opts.deviceNumbers) {
      const want = new Set(opts.deviceNumbers);
      const absent = [...want].filter((d) => !wanted.some((w) => w.deviceNumber === d));
      wanted = wanted.filter((w) => want.has(w.deviceNumber));
      if (absent.length) last = `IMDS lists no ENI with device number ${absent.join(', ')}`;
      if (absent.length) {
        if (i < attempts) await sleep(delayMs);
        continue;
      }
    }
    if (!wanted.length) last = 'IMDS lists no network interface';
    else {
      const m = matchInterfaces(wanted, await links());
      if (!m.missing.length) return m.resolved;
      last = `no kernel link carries MAC ${m.missing.join(', ')}`;
    }
    if (i < attempts) await sleep(delayMs);
  }
  throw new Error(`could not resolve egress interfaces after ${attempts} attempts: ${last}`);
}
