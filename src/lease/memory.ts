// In-memory LeaseStore, for unit tests only (not durable, not shared between processes).
// Several stores built over one MemoryLeaseData share a lease, each with its own
// clock, which is how tests model participants with skewed clocks.
import type { Clock } from '../domain/clock.js';
import type {
  AcquireResult,
  DecisionEntry,
  DecisionRecord,
  LeaseState,
  LeaseStore,
  RenewResult,
} from '../domain/ports/lease-store.js';
import { StaleTokenError } from './errors.js';
import { checkEntry, checkHolder, checkLimit, checkToken, checkTtl } from './validate.js';

/** The shared state behind one or more memory stores. */
export interface MemoryLeaseData {
  holder: string | undefined;
  token: number;
  expiresAt: number;
  ttlMs: number;
  log: DecisionRecord[];
}

export function memoryLeaseData(): MemoryLeaseData {
  return { holder: undefined, token: 0, expiresAt: 0, ttlMs: 0, log: [] };
}

export interface MemoryLeaseStoreOptions {
  clock: Clock;
  /** Share state with other stores (participants); a fresh state when omitted. */
  data?: MemoryLeaseData;
}

export class MemoryLeaseStore implements LeaseStore {
  readonly data: MemoryLeaseData;
  private readonly clock: Clock;

  constructor(opts: MemoryLeaseStoreOptions) {
    this.clock = opts.clock;
    this.data = opts.data ?? memoryLeaseData();
  }

  async acquire(holder: string, ttlMs: number): Promise<AcquireResult> {
    checkHolder(holder);
    checkTtl(ttlMs);
    const now = this.clock.now();
    const d = this.data;
    const live = d.holder !== undefined && d.expiresAt > now;
    if (live && d.holder !== holder) {
      return { held: false, holder: d.holder as string, token: d.token, expiresAt: d.expiresAt };
    }
    if (!live) d.token += 1;
    d.holder = holder;
    d.expiresAt = now + ttlMs;
    d.ttlMs = ttlMs;
    return { held: true, holder, token: d.token, expiresAt: d.expiresAt };
  }

  async renew(holder: string, token: number): Promise<RenewResult> {
    checkHolder(holder);
    checkToken(token);
    const now = this.clock.now();
    const d = this.data;
    const current = this.live(now);
    if (d.holder === undefined) return { held: false, lost: true, reason: 'released', current: null };
    if (d.holder !== holder || d.token !== token) return { held: false, lost: true, reason: 'taken', current };
    if (current === null) return { held: false, lost: true, reason: 'expired', current: null };
    d.expiresAt = now + d.ttlMs;
    return { held: true, holder, token, expiresAt: d.expiresAt };
  }

  async release(holder: string, token: number): Promise<boolean> {
    checkHolder(holder);
    checkToken(token);
    const d = this.data;
    if (d.holder !== holder || d.token !== token) return false;
    d.holder = undefined;
    d.expiresAt = 0;
    return true;
  }

  async current(): Promise<LeaseState | null> {
    return this.live(this.clock.now());
  }

  async currentToken(): Promise<number> {
    return this.data.token;
  }

  async append(entry: DecisionEntry, token: number): Promise<DecisionRecord> {
    const e = checkEntry(entry);
    checkToken(token);
    const d = this.data;
    if (token !== d.token) throw new StaleTokenError(token, d.token);
    const record: DecisionRecord = { ...structuredClone(e), seq: d.log.length + 1, token, at: this.clock.now() };
    d.log.push(record);
    return structuredClone(record);
  }

  async history(limit: number): Promise<DecisionRecord[]> {
    checkLimit(limit);
    return structuredClone(this.data.log.slice(-limit).reverse());
  }

  private live(now: number): LeaseState | null {
    const d = this.data;
    if (d.holder === undefined || d.expiresAt <= now) return null;
    return { holder: d.holder, token: d.token, expiresAt: d.expiresAt };
  }
}
