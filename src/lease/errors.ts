// Errors thrown by lease stores; callers match on `code` (declared by the port).
import type { InvalidLeaseArgumentShape, StaleTokenErrorShape } from '../domain/ports/lease-store.js';

/** append() with a fencing token that is no longer (or never was) the current one. */
export class StaleTokenError extends Error implements StaleTokenErrorShape {
  readonly code = 'STALE_TOKEN' as const;
  constructor(
    readonly token: number,
    readonly currentToken: number | undefined,
  ) {
    super(
      `fencing token ${token} is stale` +
        (currentToken === undefined ? '' : ` (the current token is ${currentToken})`) +
        ': the decision was not written; stop acting and re-acquire the lease',
    );
    this.name = 'StaleTokenError';
  }
}

/** A bad argument to a lease store method; `argument` names it. */
export class InvalidLeaseArgumentError extends Error implements InvalidLeaseArgumentShape {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    readonly argument: string,
    expected: string,
    got: unknown,
  ) {
    super(`${argument}: expected ${expected}, got ${describe(got)}`);
    this.name = 'InvalidLeaseArgumentError';
  }
}

/** The store answered something a lease store cannot make sense of (corrupt item, protocol error). */
export class LeaseStoreProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseStoreProtocolError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  return typeof value;
}

export function isStaleTokenError(err: unknown): err is StaleTokenError {
  return err instanceof StaleTokenError;
}
