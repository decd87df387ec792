// nftables scripts the data plane loads (`nft -f -` inside a namespace). Pure
// renderers; every full-table script replaces the table atomically (one nft
// transaction: create-if-missing, delete, define), so re-applying is idempotent.

import { INFRA_LINKS, NFT } from './names.js';

const q = (s: string): string => `"${s}"`;

/** Wraps a table body so loading it replaces any previous version in one transaction. */
export function replaceTable(family: 'ip' | 'inet' | 'bridge' | 'netdev', name: string, body: string): string {
  return `table ${family} ${name} {}\ndelete table ${family} ${name}\ntable ${family} ${name} {\n${body}\n}\n`;
}

export function deleteTableScript(family: 'ip' | 'inet' | 'bridge' | 'netdev', name: string): string {
  return `table ${family} ${name} {}\ndelete table ${family} ${name}\n`;
}

const elements = (items: string[]): string => (items.length ? ` elements = { ${items.join(', ')} }` : '');

/**
 * The internet gateway: stateless 1:1 translation between EIPs and private IPs,
 * with maps so an association change is one element update. Inbound packets to an
 * unassociated public IP and outbound packets from a VPC address without an EIP
 * are dropped, as in AWS.
 */
export function igwRuleset(vpcCidr: string, mappings: ReadonlyMap<string, string>): string {
  const pub = [...mappings].map(([p, v]) => `${p} : ${v}`);
  const priv = [...mappings].map(([p, v]) => `${v} : ${p}`);
  const fromInet = q(INFRA_LINKS.igwToInet.igw);
  const fromRouter = q(INFRA_LINKS.routerToIgw.igw);
  return replaceTable(
    'ip',
    NFT.igw,
    [
      `  map pub2priv { type ipv4_addr : ipv4_addr;${elements(pub)} }`,
      `  map priv2pub { type ipv4_addr : ipv4_addr;${elements(priv)} }`,
      `  chain prerouting {`,
      `    type filter hook prerouting priority raw; policy accept;`,
      `    iifname ${fromInet} notrack ip daddr set ip daddr map @pub2priv accept`,
      `    iifname ${fromInet} counter drop`,
      `    iifname ${fromRouter} ip saddr ${vpcCidr} notrack ip saddr set ip saddr map @priv2pub accept`,
      `    iifname ${fromRouter} ip saddr ${vpcCidr} counter drop`,
      `  }`,
    ].join('\n'),
  );
}

/** One transaction moving the IGW maps from `applied` to `desired` (public IP → private IP). */
export function igwMapUpdate(applied: ReadonlyMap<string, string>, desired: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  const t = `ip ${NFT.igw}`;
  for (const [pub, priv] of applied) {
    if (desired.get(pub) === priv) continue;
    lines.push(`delete element ${t} pub2priv { ${pub} }`);
    lines.push(`delete element ${t} priv2pub { ${priv} }`);
  }
  for (const [pub, priv] of desired) {
    if (applied.get(pub) === priv) continue;
    lines.push(`add element ${t} pub2priv { ${pub} : ${priv} }`);
    lines.push(`add element ${t} priv2pub { ${priv} : ${pub} }`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Source/destination check on the ENIs' bridge ports in the router: with the check
 * on, IPv4 frames entering from the port must come from the ENI's address, and
 * frames leaving by it must be addressed to it.
 */
export function sdcRuleset(): string {
  return replaceTable(
    'bridge',
    NFT.sdc,
    [
      `  set checked { type ifname; }`,
      `  set allowed { type ifname . ipv4_addr; }`,
      `  chain prerouting {`,
      `    type filter hook prerouting priority filter; policy accept;`,
      `    meta protocol ip iifname @checked iifname . ip saddr != @allowed counter drop`,
      `  }`,
      `  chain postrouting {`,
      `    type filter hook postrouting priority filter; policy accept;`,
      `    meta protocol ip oifname @checked oifname . ip daddr != @allowed counter drop`,
      `  }`,
    ].join('\n'),
  );
}

/** Replaces the check's sets in one transaction: `checked` ports and their allowed address. */
export function sdcSetsUpdate(checked: readonly { port: string; ip: string }[]): string {
  const t = `bridge ${NFT.sdc}`;
  const lines = [`flush set ${t} checked`, `flush set ${t} allowed`];
  if (checked.length) {
    lines.push(`add element ${t} checked { ${[...new Set(checked.map((c) => q(c.port)))].join(', ')} }`);
    lines.push(`add element ${t} allowed { ${checked.map((c) => `${q(c.port)} . ${c.ip}`).join(', ')} }`);
  }
  return `${lines.join('\n')}\n`;
}

export interface FaultRules {
  /** Address pairs whose traffic is dropped (both directions are listed by the caller). */
  partitions: readonly { a: string; b: string }[];
  /** Random loss on router ports, percent 1..100. */
  loss: readonly { ports: readonly string[]; pct: number }[];
}

/** The router's fault table (bridge family, so same-subnet traffic is cut too). */
export function faultsRuleset(f: FaultRules): string {
  const pairs = f.partitions.flatMap(({ a, b }) => [`${a} . ${b}`, `${b} . ${a}`]);
  const pre: string[] = [`    meta protocol ip ip saddr . ip daddr @partition counter drop`];
  const post: string[] = [];
  for (const l of f.loss) {
    if (!l.ports.length || l.pct <= 0) continue;
    const ports = `{ ${l.ports.map(q).join(', ')} }`;
    // numgen's range is 0..99: "< pct" drops pct percent; 100 % is a plain drop.
    const pct = Math.min(100, Math.max(1, Math.round(l.pct)));
    const dice = pct >= 100 ? '' : ` numgen random mod 100 < ${pct}`;
    pre.push(`    iifname ${ports}${dice} counter drop`);
    post.push(`    oifname ${ports}${dice} counter drop`);
  }
  return replaceTable(
    'bridge',
    NFT.faults,
    [
      `  set partition { type ipv4_addr . ipv4_addr;${elements([...new Set(pairs)])} }`,
      `  chain prerouting {`,
      `    type filter hook prerouting priority -210; policy accept;`,
      ...pre,
      `  }`,
      `  chain postrouting {`,
      `    type filter hook postrouting priority -210; policy accept;`,
      ...post,
      `  }`,
    ].join('\n'),
  );
}

/** The internet's "target down" switch: packets to a listed echo target are dropped. */
export function targetsRuleset(): string {
  return replaceTable(
    'ip',
    NFT.targets,
    [
      `  set down { type ipv4_addr; }`,
      `  chain input {`,
      `    type filter hook input priority filter; policy accept;`,
      `    ip daddr @down counter drop`,
      `  }`,
    ].join('\n'),
  );
}

export function targetsUpdate(down: readonly string[]): string {
  const t = `ip ${NFT.targets}`;
  return `flush set ${t} down\n${down.length ? `add element ${t} down { ${down.join(', ')} }\n` : ''}`;
}

/** The lab's minimal NAT bootstrap (what user data would do): masquerade out of every ethN, except to the VPC. */
export function bootstrapRuleset(vpcCidr: string): string {
  return replaceTable(
    'ip',
    NFT.bootstrap,
    [
      `  chain postrouting {`,
      `    type nat hook postrouting priority srcnat; policy accept;`,
      `    oifname "eth*" ip daddr != ${vpcCidr} masquerade`,
      `  }`,
    ].join('\n'),
  );
}

/** A hung NAT: up, answering on its own addresses, but forwarding nothing. */
export function hangRuleset(): string {
  return replaceTable(
    'inet',
    NFT.hang,
    [`  chain forward {`, `    type filter hook forward priority -300; policy drop;`, `  }`].join('\n'),
  );
}
