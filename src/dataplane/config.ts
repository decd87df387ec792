// The data plane's settings: what an operator (or the agent's config file) asks
// for, validated into a DataplaneConfig before anything touches the kernel.
// Every error names the field and what was expected.

export type RpFilter = 'off' | 'strict' | 'loose';
export const RP_FILTER_VALUES: Record<RpFilter, number> = { off: 0, strict: 1, loose: 2 };

export interface ConntrackConfig {
  /**
   * net.netfilter.nf_conntrack_max. Default: unset (the kernel's value, which scales
   * with memory). It is global: outside the initial network namespace the kernel
   * refuses to change it, so only set it on a real instance.
   */
  max?: number;
  /**
   * Idle timeout of an established TCP flow (nf_conntrack_tcp_timeout_established).
   * Default 350 s: what the AWS NAT Gateway uses, so applications tuned for a NAT
   * Gateway (keepalives under 350 s) behave the same; the kernel's own 432000 s (5 days)
   * keeps dead flows in the table. Range 1..2147483.
   */
  tcpEstablishedTimeoutSec: number;
  /** nf_conntrack_udp_timeout (one-way UDP). Default: unset (kernel: 30 s). */
  udpTimeoutSec?: number;
  /** nf_conntrack_udp_timeout_stream (UDP seen both ways). Default: unset (kernel: 120 s). */
  udpStreamTimeoutSec?: number;
}

export interface DataplaneConfig {
  /** Interfaces traffic leaves by (resolved names, e.g. from IMDS MACs): masquerade on these. */
  egressInterfaces: string[];
  /** Destinations never masqueraded (the VPC's own CIDRs; peering/TGW traffic keeps its source). Default none. */
  excludeDestinations: string[];
  conntrack: ConntrackConfig;
  /**
   * Reverse-path filter on all, default and every egress interface. Default 'loose':
   * a NAT with a floating ENI sees asymmetric paths that 'strict' drops.
   */
  rpFilter: RpFilter;
}

export const DEFAULT_TCP_ESTABLISHED_TIMEOUT_SEC = 350;
export const DEFAULT_RP_FILTER: RpFilter = 'loose';

export class DataplaneConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'DataplaneConfigError';
  }
}

/** Linux interface names: 1..15 characters, no slash, whitespace or quote. */
const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

export interface DataplaneConfigInput {
  egressInterfaces: readonly string[];
  excludeDestinations?: readonly string[];
  conntrack?: Partial<ConntrackConfig>;
  rpFilter?: string;
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new DataplaneConfigError(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** "10.0.0.5/16" → "10.0.0.0/16"; a bare address is a /32. Throws naming the field. */
export function normalizeCidr(field: string, text: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const len = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || octets.some((o) => o > 255) || len > 32)
    throw new DataplaneConfigError(field, `expected an IPv4 CIDR like 10.0.0.0/16, got ${JSON.stringify(text)}`);
  const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (n & mask) >>> 0;
  const addr = [net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.');
  return len === 32 ? addr : `${addr}/${len}`;
}

export function validateConfig(input: DataplaneConfigInput): DataplaneConfig {
  if (!input.egressInterfaces.length) throw new DataplaneConfigError('egressInterfaces', 'expected at least one interface name');
  input.egressInterfaces.forEach((name, i) => {
    if (!IFNAME_RE.test(name))
      throw new DataplaneConfigError(`egressInterfaces[${i}]`, `expected an interface name (1-15 of A-Z a-z 0-9 _ . : @ -), got ${JSON.stringify(name)}`);
  });
  const c = input.conntrack ?? {};
  const conntrack: ConntrackConfig = {
    tcpEstablishedTimeoutSec: checkInt('conntrack.tcpEstablishedTimeoutSec', c.tcpEstablishedTimeoutSec ?? DEFAULT_TCP_ESTABLISHED_TIMEOUT_SEC, 1, 2_147_483),
  };
  if (c.max !== undefined) conntrack.max = checkInt('conntrack.max', c.max, 1024, 2 ** 31 - 1);
  if (c.udpTimeoutSec !== undefined) conntrack.udpTimeoutSec = checkInt('conntrack.udpTimeoutSec', c.udpTimeoutSec, 1, 2_147_483);
  if (c.udpStreamTimeoutSec !== undefined) conntrack.udpStreamTimeoutSec = checkInt('conntrack.udpStreamTimeoutSec', c.udpStreamTimeoutSec, 1, 2_147_483);
  const rp = input.rpFilter ?? DEFAULT_RP_FILTER;
  if (!(rp in RP_FILTER_VALUES)) throw new DataplaneConfigError('rpFilter', `expected one of off, strict, loose, got ${JSON.stringify(rp)}`);
  const exclude = (input.excludeDestinations ?? []).map((c, i) => normalizeCidr(`excludeDestinations[${i}]`, c));
  return {
    egressInterfaces: [...new Set(input.egressInterfaces)],
    excludeDestinations: [...new Set(exclude)].sort(),
    conntrack,
    rpFilter: rp as RpFilter,
  };
}
