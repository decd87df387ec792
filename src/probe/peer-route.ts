// Vantage `peer:<id>`: probing this node's targets through a peer NAT as next hop.
//
// Mechanism (source-port-range marking): probe sockets for a peer bind a local port
// from a range reserved for that peer; a natkeeper-owned nftables table has a
// `type route hook output` chain that sets a fwmark on packets from that range (a
// route chain re-runs the routing decision after the mark is set), and
// `ip rule fwmark <m> lookup <table>` with `default via <peer ip>` in that table sends
// them through the peer. ICMP has no port: ping sets the mark itself (`ping -m <m>`).
//
// The reserved ranges must lie outside net.ipv4.ip_local_port_range (default
// 32768-60999) so ordinary connections never pick them; the defaults below do.
// The text builders are pure; apply/remove go through an injected Runner.

import { describeFailure, type Runner } from '../dataplane/runner.js';
import type { NodeId } from '../domain/signals.js';

export const PROBE_NFT_FAMILY = 'ip';
export const PROBE_NFT_TABLE = 'natkeeper_probe';

export interface PortRange {
  from: number;
  to: number;
}

export interface PeerRoute {
  peerId: NodeId;
  peerIp: string;
  portRange: PortRange;
  /** fwmark (nonzero, 32-bit). */
  mark: number;
  /** Routing table id (1-252 or 256-2^31-1; never main/local/default). */
  table: number;
  /** `ip rule` priority; default 1000 + index within the peer list. */
  priority?: number;
}

export class PeerRouteError extends Error {
  override name = 'PeerRouteError';
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PEER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Throws a PeerRouteError naming the field and the expected value; also checks overlaps across peers. */
export function validatePeerRoutes(routes: readonly PeerRoute[]): void {
  routes.forEach((r, i) => {
    const at = `peers[${i}]`;
    if (!PEER_ID.test(r.peerId)) throw new PeerRouteError(`${at}.peerId: expected 1-64 chars of [A-Za-z0-9._-], got "${r.peerId}"`);
    if (!IPV4.test(r.peerIp)) throw new PeerRouteError(`${at}.peerIp: expected an IPv4 address, got "${r.peerIp}"`);
    const { from, to } = r.portRange;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1024 || to > 65535 || from > to) {
      throw new PeerRouteError(`${at}.portRange: expected integers 1024 <= from <= to <= 65535, got ${from}-${to}`);
    }
    if (!Number.isInteger(r.mark) || r.mark < 1 || r.mark > 0xffffffff) {
      throw new PeerRouteError(`${at}.mark: expected an integer 1..0xffffffff, got ${r.mark}`);
    }
    if (!Number.isInteger(r.table) || r.table < 1 || r.table > 0x7fffffff || (r.table >= 253 && r.table <= 255)) {
      throw new PeerRouteError(`${at}.table: expected 1-252 or 256-2147483647 (not main/local/default), got ${r.table}`);
    }
    if (r.priority !== undefined && (!Number.isInteger(r.priority) || r.priority < 1 || r.priority > 32765)) {
      throw new PeerRouteError(`${at}.priority: expected 1-32765, got ${r.priority}`);
    }
  });
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      const a = routes[i]!;
      const b = routes[j]!;
      if (a.portRange.from <= b.portRange.to && b.portRange.from <= a.portRange.to) {
        throw new PeerRouteError(`peers[${j}].portRange: overlaps peers[${i}] (${a.portRange.from}-${a.portRange.to})`);
      }
      if (a.mark === b.mark) throw new PeerRouteError(`peers[${j}].mark: ${b.mark} is already used by peers[${i}]`);
      if (a.table === b.table) throw new PeerRouteError(`peers[${j}].table: ${b.table} is already used by peers[${i}]`);
      if (a.peerId === b.peerId) throw new PeerRouteError(`peers[${j}].peerId: "${b.peerId}" appears twice`);
    }
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function priorityOf(r: PeerRoute, index: number): number {
  return r.priority ?? 1000 + index;
}

/**
 * The whole natkeeper_probe table as an `nft -f -` script. Idempotent: it declares
 * the table, deletes it, and recreates it in one transaction.
 */
export function probeRuleset(routes: readonly PeerRoute[]): string {
  validatePeerRoutes(routes);
  const lines = [
    `table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE} {}`,
    `delete table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE}`,
    `table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE} {`,
    `  chain output {`,
    `    type route hook output priority mangle; policy accept;`,
  ];
  for (const r of routes) {
    const range = `${r.portRange.from}-${r.portRange.to}`;
    for (const proto of ['tcp', 'udp']) {
      lines.push(`    ${proto} sport ${range} meta mark set ${hex(r.mark)} comment "natkeeper probe via ${r.peerId}"`);
    }
  }
  lines.push('  }', '}', '');
  return lines.join('\n');
}

/** Deletes the table (declaring it first so the script succeeds when it is absent). */
export const PROBE_DELETE_SCRIPT = `table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE} {}\ndelete table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE}\n`;

/** The full rule, so `ip rule del` removes only natkeeper's own rule, never another at the same priority. */
function ruleSelector(r: PeerRoute, index: number): string[] {
  return ['priority', String(priorityOf(r, index)), 'fwmark', `${hex(r.mark)}/0xffffffff`, 'lookup', String(r.table)];
}

/** The `ip` commands that install one peer's route and rule (`ip rule del` first, so re-applying is idempotent). */
export function peerRouteCommands(r: PeerRoute, index = 0): { prepare: string[][]; install: string[][] } {
  validatePeerRoutes([r]);
  return {
    // May fail harmlessly (nothing to delete).
    prepare: [['ip', 'rule', 'del', ...ruleSelector(r, index)]],
    install: [
      ['ip', 'route', 'replace', 'default', 'via', r.peerIp, 'table', String(r.table)],
      ['ip', 'rule', 'add', ...ruleSelector(r, index)],
    ],
  };
}

/** The `ip` commands that remove one peer's rule and table routes (each may fail harmlessly when absent). */
export function peerRouteRemoveCommands(r: PeerRoute, index = 0): string[][] {
  return [
    ['ip', 'rule', 'del', ...ruleSelector(r, index)],
    ['ip', 'route', 'flush', 'table', String(r.table)],
  ];
}

export interface PeerRouteResult {
  ok: boolean;
  reason?: string;
}

/** Installs the marking table and every peer's rule and route; stops at the first failure and says why. */
export async function applyPeerRoutes(runner: Runner, routes: readonly PeerRoute[]): Promise<PeerRouteResult> {
  let script: string;
  try {
    script = probeRuleset(routes);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const argv = ['nft', '-f', '-'];
  const r = await runner(argv, { input: script });
  if (r.code !== 0) return { ok: false, reason: describeFailure(argv, r) };
  for (const [i, route] of routes.entries()) {
    const { prepare, install } = peerRouteCommands(route, i);
    for (const cmd of prepare) await runner(cmd);
    for (const cmd of install) {
      const out = await runner(cmd);
      if (out.code !== 0) return { ok: false, reason: describeFailure(cmd, out) };
    }
  }
  return { ok: true };
}

/** Removes only what applyPeerRoutes made: the natkeeper_probe table, the rules and the peers' tables. */
export async function removePeerRoutes(runner: Runner, routes: readonly PeerRoute[]): Promise<PeerRouteResult> {
  const failures: string[] = [];
  for (const [i, route] of routes.entries()) {
    for (const cmd of peerRouteRemoveCommands(route, i)) await runner(cmd);
  }
  const argv = ['nft', '-f', '-'];
  const r = await runner(argv, { input: PROBE_DELETE_SCRIPT });
  if (r.code !== 0) failures.push(describeFailure(argv, r));
  return failures.length ? { ok: false, reason: failures.join('; ') } : { ok: true };
}

/** Hands out source ports from a peer's range round-robin, so consecutive probes never reuse one port. */
export class PortAllocator {
  private next: number;
  constructor(private readonly range: PortRange) {
    this.next = range.from;
  }
  take(): number {
    const p = this.next;
    this.next = p >= this.range.to ? this.range.from : p + 1;
    return p;
  }
}

/**
 * Removes every trace of peer-vantage routing, whatever peers it was made for (used by
 * `natkeeper dataplane reset`): the natkeeper_probe table, the `ip rule`s whose fwmark is in
 * natkeeper's mark range (the marks of src/agent/peers.ts), and the routing tables they used.
 * Returns what was removed.
 */
export async function removeAllPeerRouting(runner: Runner, marks: { base: number; count: number }): Promise<string[]> {
  const removed: string[] = [];
  const rules = await runner(['ip', '-j', 'rule', 'show']);
  let list: { priority?: number; fwmark?: string; table?: string }[] = [];
  try {
    list = rules.code === 0 ? (JSON.parse(rules.stdout) as typeof list) : [];
  } catch {
    list = [];
  }
  for (const r of list) {
    const mark = r.fwmark === undefined ? NaN : Number(r.fwmark);
    if (!(mark >= marks.base && mark < marks.base + marks.count) || r.priority === undefined || r.table === undefined) continue;
    const argv = ['ip', 'rule', 'del', 'priority', String(r.priority), 'fwmark', `${hex(mark)}/0xffffffff`, 'lookup', r.table];
    if ((await runner(argv)).code === 0) removed.push(`ip rule ${r.priority} fwmark ${hex(mark)} lookup ${r.table}`);
    if ((await runner(['ip', 'route', 'flush', 'table', r.table])).code === 0) removed.push(`routing table ${r.table}`);
  }
  const listed = await runner(['nft', 'list', 'table', PROBE_NFT_FAMILY, PROBE_NFT_TABLE]);
  if (listed.code === 0 && (await runner(['nft', '-f', '-'], { input: PROBE_DELETE_SCRIPT })).code === 0) removed.push(`nft table ${PROBE_NFT_FAMILY} ${PROBE_NFT_TABLE}`);
  return removed;
}
