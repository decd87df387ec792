// Small IPv4 helpers for the lab's address plan.
export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) >>> 0;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function parseCidr(cidr: string): { base: number; bits: number; size: number } {
  const [ip, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? 32);
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(ip!) / size) * size;
  return { base, bits, size };
}

/** True when inner lies entirely inside outer. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return i.base >= o.base && i.base + i.size <= o.base + o.size;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

/** Usable host addresses (network and broadcast excluded for prefixes shorter than /31). */
export function hostsOf(cidr: string): string[] {
  const { base, size, bits } = parseCidr(cidr);
  const out: string[] = [];
  const [first, last] = bits >= 31 ? [0, size - 1] : [1, size - 2];
  for (let k = first; k <= last; k++) out.push(intToIp(base + k));
  return out;
}
