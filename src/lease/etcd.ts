// etcd LeaseStore over etcd's v3 API through its JSON gRPC gateway (plain fetch, no
// client library): /v3/kv/range, /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive,
// /v3/lease/revoke. Keys and values are base64 on the wire; int64s are JSON strings;
// fields with zero values are omitted by the gateway.
//
// Keys under `prefix` (default "natkeeper/lease/natkeeper"):
//   <prefix>/holder        JSON {holder, token, expiresAt, ttlMs}, bound to an etcd lease:
//                          the server deletes it when the lease's TTL runs out.
//   <prefix>/token         the fencing token counter (decimal), no lease: it survives expiry.
//   <prefix>/log/<token>-<uuid>  one decision (JSON); its create_revision is its `seq`.
//
// Fencing token: a counter key written in the same transaction that creates the holder
// key (compare: holder key absent AND counter's mod_revision unchanged). The holder
// key's create_revision would also be monotonic, but it disappears with the key when
// the lease expires, so "is this token still current?" could not be answered after an
// expiry; revisions also jump with every unrelated write. The counter gives tokens
// 1, 2, 3... like the DynamoDB store, stays readable after expiry, and the decision
// log's fence is one compare on its value.
//
// Expiry is the server's: etcd leases count whole seconds, so the etcd lease is granted
// ceil(ttlMs / 1000) s (at least etcd's minimum TTL), never shorter than ttlMs, and the
// caller's `expiresAt` is its clock at the start of the request + ttlMs: the caller
// stops believing before the server frees the key. current() reports the holder key
// as long as the server keeps it, even if its expiresAt (the holder's view) has passed.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type {
  AcquireResult,
  DecisionEntry,
  DecisionRecord,
  JsonValue,
  LeaseState,
  LeaseStore,
  RenewResult,
} from '../domain/ports/lease-store.js';
import { LeaseStoreProtocolError, StaleTokenError } from './errors.js';
import { checkEntry, checkHolder, checkLimit, checkName, checkToken, checkTtl } from './validate.js';

export interface EtcdLeaseStoreOptions {
  /** Client URL, e.g. http://127.0.0.1:2379. */
  endpoint: string;
  /** Key prefix of this lease. Default "natkeeper/lease/natkeeper". */
  prefix?: string;
  clock: Clock;
  /** Per-request timeout. Default 5000 ms. */
  requestTimeoutMs?: number;
}

/** etcd answered with an error status. */
export class EtcdError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    readonly etcdMessage: string,
  ) {
    super(`etcd ${path}: HTTP ${status}: ${etcdMessage}`);
    this.name = 'EtcdError';
  }
}

interface KeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

interface RangeResponse {
  kvs?: KeyValue[];
}

interface TxnResponse {
  succeeded?: boolean;
  header?: { revision?: string };
  responses?: { response_range?: RangeResponse; response_put?: { header?: { revision?: string } } }[];
}

interface HolderValue {
  holder: string;
  token: number;
  expiresAt: number;
  ttlMs: number;
}

interface Snapshot {
  holderKv: KeyValue | undefined;
  holder: HolderValue | undefined;
  counter: number;
  counterModRevision: string;
}

const ATTEMPTS = 5;

export class EtcdLeaseStore implements LeaseStore {
  private readonly endpoint: string;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly holderKey: string;
  private readonly counterKey: string;
  private readonly logPrefix: string;

  constructor(opts: EtcdLeaseStoreOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.prefix = checkName(opts.prefix ?? 'natkeeper/lease/natkeeper', 'prefix');
    this.clock = opts.clock;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.holderKey = b64(`${this.prefix}/holder`);
    this.counterKey = b64(`${this.prefix}/token`);
    this.logPrefix = `${this.prefix}/log/`;
  }

  async acquire(holder: string, ttlMs: number): Promise<AcquireResult> {
    checkHolder(holder);
    checkTtl(ttlMs);
    const now = this.clock.now();
    const expiresAt = now + ttlMs;
    let snap = await this.snapshot();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (snap.holder !== undefined && snap.holder.holder !== holder) return { held: false, ...state(snap.holder) };
      const leaseId = await this.grant(ttlMs);
      if (snap.holder !== undefined && snap.holderKv !== undefined) {
        // Ours already: move the key to a fresh etcd lease with the new ttl; same token.
        const value: HolderValue = { holder, token: snap.holder.token, expiresAt, ttlMs };
        const txn = await this.txn(
          [{ target: 'MOD', key: this.holderKey, mod_revision: snap.holderKv.mod_revision ?? '0', result: 'EQUAL' }],
          [put(this.holderKey, JSON.stringify(value), leaseId)],
        );
        if (txn.succeeded === true) {
          await this.revoke(snap.holderKv.lease);
          return { held: true, ...state(value) };
        }
      } else {
        // Free: create the holder key and bump the counter in one transaction.
        const value: HolderValue = { holder, token: snap.counter + 1, expiresAt, ttlMs };
        const txn = await this.txn(
          [
            { target: 'VERSION', key: this.holderKey, version: '0', result: 'EQUAL' },
            { target: 'MOD', key: this.counterKey, mod_revision: snap.counterModRevision, result: 'EQUAL' },
          ],
          [put(this.holderKey, JSON.stringify(value), leaseId), put(this.counterKey, String(value.token))],
        );
        if (txn.succeeded === true) return { held: true, ...state(value) };
      }
      await this.revoke(leaseId);
      snap = await this.snapshot();
    }
    return snap.holder !== undefined
      ? { held: false, ...state(snap.holder) }
      : { held: false, holder: '', token: snap.counter, expiresAt: 0 };
  }

  async renew(holder: string, token: number): Promise<RenewResult> {
    checkHolder(holder);
    checkToken(token);
    const now = this.clock.now();
    const snap = await this.snapshot();
    if (snap.holder === undefined || snap.holderKv === undefined) {
      return { held: false, lost: true, reason: 'expired', current: null };
    }
    if (snap.holder.holder !== holder || snap.holder.token !== token) {
      return { held: false, lost: true, reason: 'taken', current: state(snap.holder) };
    }
    const ttl = await this.keepalive(snap.holderKv.lease);
    if (ttl <= 0) return { held: false, lost: true, reason: 'expired', current: null };
    // Record the new expiry for observers (current()); the key stays bound to its lease.
    const value: HolderValue = { ...snap.holder, expiresAt: now + snap.holder.ttlMs };
    const txn = await this.txn(
      [{ target: 'MOD', key: this.holderKey, mod_revision: snap.holderKv.mod_revision ?? '0', result: 'EQUAL' }],
      [put(this.holderKey, JSON.stringify(value), snap.holderKv.lease)],
    );
    if (txn.succeeded !== true) {
      const cur = (await this.snapshot()).holder;
      if (cur?.holder === holder && cur.token === token) return { held: true, ...state(cur) };
      return cur === undefined
        ? { held: false, lost: true, reason: 'expired', current: null }
        : { held: false, lost: true, reason: 'taken', current: state(cur) };
    }
    return { held: true, ...state(value) };
  }

  async release(holder: string, token: number): Promise<boolean> {
    checkHolder(holder);
    checkToken(token);
    const snap = await this.snapshot();
    if (snap.holderKv === undefined || snap.holder?.holder !== holder || snap.holder.token !== token) return false;
    const txn = await this.txn(
      [{ target: 'MOD', key: this.holderKey, mod_revision: snap.holderKv.mod_revision ?? '0', result: 'EQUAL' }],
      [{ requestDeleteRange: { key: this.holderKey } }],
    );
    if (txn.succeeded !== true) return false;
    await this.revoke(snap.holderKv.lease);
    return true;
  }

  async current(): Promise<LeaseState | null> {
    const h = (await this.snapshot()).holder;
    return h === undefined ? null : state(h);
  }

  async currentToken(): Promise<number> {
    return (await this.snapshot()).counter;
  }

  async append(entry: DecisionEntry, token: number): Promise<DecisionRecord> {
    const e = checkEntry(entry);
    checkToken(token);
    const at = this.clock.now();
    const stored = { ...e, token, at };
    const txn = await this.txn(
      [{ target: 'VALUE', key: this.counterKey, value: b64(String(token)), result: 'EQUAL' }],
      [put(b64(`${this.logPrefix}${token}-${randomUUID()}`), JSON.stringify(stored))],
      [{ requestRange: { key: this.counterKey } }],
    );
    if (txn.succeeded !== true) {
      const kv = txn.responses?.[0]?.response_range?.kvs?.[0];
      throw new StaleTokenError(token, kv === undefined ? 0 : parseCounter(kv));
    }
    const revision = txn.responses?.[0]?.response_put?.header?.revision ?? txn.header?.revision;
    return { ...stored, seq: toInt(revision, 'put revision') };
  }

  async history(limit: number): Promise<DecisionRecord[]> {
    checkLimit(limit);
    const out = await this.call<RangeResponse>('/v3/kv/range', {
      key: b64(this.logPrefix),
      range_end: prefixEnd(this.logPrefix),
      sort_order: 'DESCEND',
      sort_target: 'CREATE',
      limit: String(limit),
    });
    return (out.kvs ?? []).map((kv) => {
      const v = parseJson(kv.value, 'decision') as Omit<DecisionRecord, 'seq'> & { detail?: { [k: string]: JsonValue } };
      return { ...v, seq: toInt(kv.create_revision, 'create_revision') };
    });
  }

  /** The holder key and the counter, read at one revision. */
  private async snapshot(): Promise<Snapshot> {
    const txn = await this.txn([], [{ requestRange: { key: this.holderKey } }, { requestRange: { key: this.counterKey } }]);
    const holderKv = txn.responses?.[0]?.response_range?.kvs?.[0];
    const counterKv = txn.responses?.[1]?.response_range?.kvs?.[0];
    const holder = holderKv === undefined ? undefined : (parseJson(holderKv.value, 'holder') as HolderValue);
    if (holder !== undefined && (typeof holder.holder !== 'string' || typeof holder.token !== 'number')) {
      throw new LeaseStoreProtocolError(`etcd key ${this.prefix}/holder does not hold a lease record`);
    }
    return {
      holderKv,
      holder,
      counter: counterKv === undefined ? 0 : parseCounter(counterKv),
      counterModRevision: counterKv?.mod_revision ?? '0',
    };
  }

  private async grant(ttlMs: number): Promise<string> {
    const out = await this.call<{ ID?: string }>('/v3/lease/grant', { TTL: String(Math.ceil(ttlMs / 1000)) });
    if (out.ID === undefined) throw new LeaseStoreProtocolError('etcd lease grant returned no ID');
    return out.ID;
  }

  /** Remaining TTL in seconds after the keepalive; 0 when the lease is gone. */
  private async keepalive(leaseId: string | undefined): Promise<number> {
    if (leaseId === undefined) return 0;
    try {
      const out = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: leaseId });
      return Number(out.result?.TTL ?? '0');
    } catch (err) {
      if (err instanceof EtcdError && err.status === 404) return 0;
      throw err;
    }
  }

  private async revoke(leaseId: string | undefined): Promise<void> {
    if (leaseId === undefined || leaseId === '0') return;
    try {
      await this.call('/v3/lease/revoke', { ID: leaseId });
    } catch (err) {
      // Already expired or revoked: nothing to do.
      if (!(err instanceof EtcdError && err.status === 404)) throw err;
    }
  }

  private txn(compare: unknown[], success: unknown[], failure: unknown[] = []): Promise<TxnResponse> {
    return this.call<TxnResponse>('/v3/kv/txn', { compare, success, failure });
  }

  private async call<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(this.endpoint + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LeaseStoreProtocolError(`etcd ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const message = (parsed as { message?: string; error?: string }).message ?? text.slice(0, 200);
      throw new EtcdError(path, res.status, message);
    }
    return parsed as T;
  }
}

function state(v: HolderValue): LeaseState {
  return { holder: v.holder, token: v.token, expiresAt: v.expiresAt };
}

function put(key: string, value: string, lease?: string): unknown {
  return { requestPut: { key, value: b64(value), ...(lease === undefined ? {} : { lease }) } };
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function unb64(s: string | undefined): string {
  return Buffer.from(s ?? '', 'base64').toString('utf8');
}

function parseJson(value: string | undefined, what: string): unknown {
  try {
    return JSON.parse(unb64(value));
  } catch {
    throw new LeaseStoreProtocolError(`etcd ${what} value is not JSON`);
  }
}

function parseCounter(kv: KeyValue): number {
  return toInt(unb64(kv.value), 'fencing token counter');
}

function toInt(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(n)) throw new LeaseStoreProtocolError(`etcd ${what} is not an integer`);
  return n;
}

/** The range end (base64) that selects every key starting with `prefix` (etcd's prefix convention). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    const b = bytes[i] as number;
    if (b < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = b + 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}
