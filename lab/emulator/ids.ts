// Resource IDs and MAC addresses in AWS's formats, from a seeded generator so
// a lab built twice from the same topology gets the same IDs.
export class IdGenerator {
  private state: number;
  constructor(seed = 1) {
    this.state = seed >>> 0 || 1;
  }
  /** mulberry32: small, fast, good enough for unique-looking IDs. */
  private next32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  hex(length: number): string {
    let s = '';
    while (s.length < length) s += this.next32().toString(16).padStart(8, '0');
    return s.slice(0, length);
  }
  /** e.g. id('rtb') → "rtb-0a1b2c3d4e5f60718" (17 hex digits, like AWS's long IDs). */
  id(prefix: string): string {
    return `${prefix}-0${this.hex(16)}`;
  }
  mac(): string {
    const h = this.hex(10);
    // 02: locally administered unicast, so it never collides with real hardware.
    return `02:${h.match(/../g)!.join(':')}`;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
