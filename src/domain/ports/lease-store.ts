// The LeaseStore port: the right to act (a lease held in an external store) with a
// monotonic fencing token, and the decision log that only the current token may write.
// Types only; implementations are in src/lease (dynamodb, etcd, memory for unit tests).
//
// Contract (every implementation runs the shared suite in test/support/lease-contract.ts):
// - acquire(holder, ttlMs) succeeds when the lease is free, expired, or already held
//   by the same holder (then it is extended and keeps its token). A successful acquire
//   of a lease not live-held by `holder` issues a new fencing token, strictly greater
//   than every token issued before (an atomic counter), so the token increases on every
//   change of holder.
// - renew(holder, token) extends a live lease by its ttl; it returns a LeaseLost result
//   when the lease expired, was released, was taken over, or the token moved on.
//   An expired lease is never renewed: call acquire() again.
// - release(holder, token) frees the lease if (and only if) that holder/token holds it.
// - expiresAt is computed from the caller's injected Clock at the moment the request is
//   sent, so it never lies after the store's own view of expiry. A participant must treat
//   its lease as valid only until `expiresAt - safetyMarginMs`, with
//   safetyMarginMs > 2 * (maximum clock skew between participants); see
//   test/integration/lease-property.test.ts for the bound that is checked.
// - append(entry, token) writes to the decision log only while `token` is the current
//   fencing token (a conditional write); a stale token is refused with an error whose
//   `code` is 'STALE_TOKEN'. The current token is the last one issued: it stays current
//   after the lease expires or is released, until another acquire issues a new one.
// - history(limit) returns decision log records newest first.
// - Bad arguments (empty holder, ttlMs not a positive integer, token not a positive
//   integer, limit not a positive integer) are refused with an error whose `code` is
//   'INVALID_ARGUMENT' and whose `argument` names the argument.

/** Who holds the lease, until when, and with which fencing token. */
export interface LeaseState {
  readonly holder: string;
  /** The fencing token issued when this holder acquired the lease. */
  readonly token: number;
  /** Epoch ms after which the lease is no longer held (see the safety margin above). */
  readonly expiresAt: number;
}

/** The lease is held by the caller. */
export interface LeaseHeld extends LeaseState {
  readonly held: true;
}

/** acquire() found the lease held by someone else (holder/token/expiresAt are theirs). */
export interface LeaseBusy extends LeaseState {
  readonly held: false;
}

export type AcquireResult = LeaseHeld | LeaseBusy;

/** Why a renew failed. */
export type LeaseLostReason =
  /** The lease's time ran out (nobody has taken it yet). */
  | 'expired'
  /** The lease was released. */
  | 'released'
  /** Another holder took the lease over, or the token moved on. */
  | 'taken';

/** renew() failed: the caller must stop acting at once. */
export interface LeaseLost {
  readonly held: false;
  readonly lost: true;
  readonly reason: LeaseLostReason;
  /** The lease as the store sees it now, or null when nobody holds it. */
  readonly current: LeaseState | null;
}

export type RenewResult = LeaseHeld | LeaseLost;

/** JSON values storable in a decision log entry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One decision as written by the lease holder (e.g. a plan it is about to execute). */
export interface DecisionEntry {
  /** The lease holder that made the decision. */
  readonly holder: string;
  /** What was decided, e.g. "route-replace" or "failback". */
  readonly action: string;
  /** Anything else worth keeping (zone, route tables, reason...). */
  readonly detail?: { readonly [key: string]: JsonValue };
}

/** A decision as stored. */
export interface DecisionRecord extends DecisionEntry {
  /** Position in the log; strictly increasing in the order appends were accepted. */
  readonly seq: number;
  /** The fencing token the append was made with. */
  readonly token: number;
  /** The appender's clock when it appended (epoch ms). */
  readonly at: number;
}

/** Error codes of the errors lease stores throw (match on `code`, not on the class). */
export type LeaseStoreErrorCode = 'STALE_TOKEN' | 'INVALID_ARGUMENT';

/** Shape of the errors lease stores throw. */
export interface LeaseStoreError extends Error {
  readonly code: LeaseStoreErrorCode;
}

/** append() with a token that is not the current fencing token. */
export interface StaleTokenErrorShape extends LeaseStoreError {
  readonly code: 'STALE_TOKEN';
  readonly token: number;
  /** The current fencing token (0 when none was ever issued), when known. */
  readonly currentToken: number | undefined;
}

/** A bad argument; `argument` names it ("holder", "ttlMs", "token", "limit"). */
export interface InvalidLeaseArgumentShape extends LeaseStoreError {
  readonly code: 'INVALID_ARGUMENT';
  readonly argument: string;
}

export interface LeaseStore {
  /** Take the lease (free, expired, or already ours: then extend it and keep the token). */
  acquire(holder: string, ttlMs: number): Promise<AcquireResult>;
  /** Extend our live lease by its ttl; LeaseLost when it is no longer ours. */
  renew(holder: string, token: number): Promise<RenewResult>;
  /** Give the lease up; false when it was not held by this holder/token (nothing changed). */
  release(holder: string, token: number): Promise<boolean>;
  /** The live lease, or null when it is free or expired. */
  current(): Promise<LeaseState | null>;
  /** The last fencing token issued (0 when none yet). */
  currentToken(): Promise<number>;
  /** Append a decision; refused (STALE_TOKEN) unless `token` is the current fencing token. */
  append(entry: DecisionEntry, token: number): Promise<DecisionRecord>;
  /** The newest `limit` decisions, newest first. */
  history(limit: number): Promise<DecisionRecord[]>;
}
