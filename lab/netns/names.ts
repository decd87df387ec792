// Names of everything the data plane creates in the kernel: namespaces, links,
// bridges, policy-routing tables and rule priorities. Pure functions, so the
// naming rules (uniqueness, the kernel's 15-character interface names) are
// unit-tested without root.

import { randomBytes } from 'node:crypto';

/** Linux interface names are at most 15 characters (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** A lab prefix: lowercase letters/digits, 2..12 characters, ending in "-" (e.g. "nk1a2b-"). */
export const PREFIX_RE = /^[a-z][a-z0-9]{1,11}-$/;

export function randomPrefix(): string {
  return `nk${randomBytes(2).toString('hex')}-`;
}

export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix))
    throw new Error(`lab prefix "${prefix}" is not valid: expected 2-12 lowercase letters/digits starting with a letter, then "-" (e.g. "nk1a2b-")`);
  return prefix;
}

/** The infrastructure namespaces of one lab. */
export interface InfraNamespaces {
  router: string;
  igw: string;
  inet: string;
  park: string;
}

export function infraNamespaces(prefix: string): InfraNamespaces {
  return { router: `${prefix}router`, igw: `${prefix}igw`, inet: `${prefix}inet`, park: `${prefix}park` };
}

/** The hex part of an AWS id ("i-0123abc…" → "123abc…", "eni-0ab…" → "ab…"). */
export function idHex(id: string): string {
  const dash = id.indexOf('-');
  const rest = dash >= 0 ? id.slice(dash + 1) : id;
  // AWS's long ids start with a "0" that carries no information.
  return rest.length === 17 && rest.startsWith('0') ? rest.slice(1) : rest;
}

/**
 * Allocates short names that stay unique: the shortest prefix of `hex` (at least
 * `min` characters) no other id already holds; the same id always gets the same name.
 */
export class ShortNames {
  private readonly byId = new Map<string, string>();
  private readonly taken = new Set<string>();
  constructor(
    private readonly min: number,
    private readonly max: number,
    private readonly format: (short: string) => string = (s) => s,
  ) {}
  get(id: string): string {
    const known = this.byId.get(id);
    if (known) return known;
    const hex = idHex(id).toLowerCase().replace(/[^a-z0-9]/g, '');
    for (let n = this.min; n <= Math.min(this.max, hex.length); n++) {
      const name = this.format(hex.slice(0, n));
      if (!this.taken.has(name)) return this.remember(id, name);
    }
    // Two ids sharing their whole usable hex part: fall back to a counter suffix.
    for (let k = 1; ; k++) {
      const suffix = k.toString(36);
      const name = this.format(hex.slice(0, this.max - suffix.length) + suffix);
      if (!this.taken.has(name)) return this.remember(id, name);
    }
  }
  release(id: string): void {
    const name = this.byId.get(id);
    if (name === undefined) return;
    this.byId.delete(id);
    this.taken.delete(name);
  }
  private remember(id: string, name: string): string {
    this.byId.set(id, name);
    this.taken.add(name);
    return name;
  }
}

/** Instance namespaces: `<prefix><6+ hex of the instance id>`. */
export const instanceShortNames = (): ShortNames => new ShortNames(6, 16);

/** ENI veth ends: router end `e<hex>` (in the subnet bridge), instance end parked as `p<hex>`. */
export const eniShortNames = (): ShortNames => new ShortNames(8, IFNAME_MAX - 1);

export function eniRouterLink(short: string): string {
  return `e${short}`;
}
export function eniParkedLink(short: string): string {
  return `p${short}`;
}

/** One bridge per subnet in the router namespace: `br<hex>`. */
export const subnetShortNames = (): ShortNames => new ShortNames(8, IFNAME_MAX - 2);
export function subnetBridge(short: string): string {
  return `br${short}`;
}

/** A deterministic, locally administered unicast MAC for a subnet bridge (stable while ports come and go). */
export function bridgeMac(subnetId: string): string {
  const hex = idHex(subnetId).padEnd(8, '0').slice(0, 8);
  return `02:b0:${hex.match(/../g)!.join(':')}`;
}

/** Infrastructure links: names inside their namespaces, and their link-local /30s. */
export const INFRA_LINKS = {
  routerToIgw: { router: 'rtr-igw', igw: 'igw-rtr', routerIp: '169.254.0.1', igwIp: '169.254.0.2' },
  igwToInet: { igw: 'igw-inet', inet: 'inet-igw', igwIp: '169.254.0.5', inetIp: '169.254.0.6' },
} as const;

/** Kernel tables in the router: one per emulated route table, numbered from here. */
export const ROUTER_TABLE_BASE = 1000;
/** `to <VPC CIDR> lookup main`: the "local" route, before any subnet rule. */
export const LOCAL_RULE_PRIORITY = 100;
/** Subnet rules (`iif <bridge> lookup <table>`) use two priority slots per subnet, so a change adds the new rule before deleting the old. */
export const SUBNET_RULE_BASE = 1000;

/** Inside an instance: ec2-net-utils-style source tables, one per device index. */
export const INSTANCE_TABLE_BASE = 10000;
export const INSTANCE_RULE_BASE = 10000;

/** nftables tables the data plane owns. */
export const NFT = {
  igw: 'natkeeper_lab_igw',
  sdc: 'natkeeper_lab_sdc',
  faults: 'natkeeper_lab_faults',
  targets: 'natkeeper_lab_targets',
  bootstrap: 'natkeeper_lab_bootstrap',
  hang: 'natkeeper_lab_hang',
} as const;
