// Argument checks shared by every LeaseStore implementation: errors name the argument.
import type { DecisionEntry } from '../domain/ports/lease-store.js';
import { InvalidLeaseArgumentError } from './errors.js';

/** Longest holder id accepted (it is stored in keys/attributes and logs). */
export const MAX_HOLDER_LENGTH = 256;
/** Longest lease accepted: one day. A NAT lease is seconds long; anything near this is a unit mistake. */
export const MAX_TTL_MS = 86_400_000;

export function checkHolder(holder: unknown, argument = 'holder'): string {
  if (typeof holder !== 'string' || holder.trim() === '') {
    throw new InvalidLeaseArgumentError(argument, 'a non-empty holder id', holder);
  }
  if (holder.length > MAX_HOLDER_LENGTH) {
    throw new InvalidLeaseArgumentError(argument, `a holder id of at most ${MAX_HOLDER_LENGTH} characters`, holder);
  }
  return holder;
}

export function checkTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new InvalidLeaseArgumentError('ttlMs', 'a positive integer number of milliseconds', ttlMs);
  }
  if (ttlMs > MAX_TTL_MS) {
    throw new InvalidLeaseArgumentError('ttlMs', `at most ${MAX_TTL_MS} ms (one day)`, ttlMs);
  }
  return ttlMs;
}

export function checkToken(token: unknown): number {
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token <= 0) {
    throw new InvalidLeaseArgumentError('token', 'a positive integer fencing token', token);
  }
  return token;
}

export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit <= 0) {
    throw new InvalidLeaseArgumentError('limit', 'a positive integer', limit);
  }
  return limit;
}

export function checkEntry(entry: unknown): DecisionEntry {
  if (typeof entry !== 'object' || entry === null) {
    throw new InvalidLeaseArgumentError('entry', 'an object with holder and action', entry);
  }
  const e = entry as Partial<DecisionEntry>;
  checkHolder(e.holder, 'entry.holder');
  if (typeof e.action !== 'string' || e.action.trim() === '') {
    throw new InvalidLeaseArgumentError('entry.action', 'a non-empty string', e.action);
  }
  if (e.detail !== undefined && (typeof e.detail !== 'object' || e.detail === null || Array.isArray(e.detail))) {
    throw new InvalidLeaseArgumentError('entry.detail', 'an object', e.detail);
  }
  return { holder: e.holder as string, action: e.action, ...(e.detail === undefined ? {} : { detail: e.detail }) };
}

/** Check a lease/table name used in keys. */
export function checkName(name: unknown, argument: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.\-/]{1,200}$/.test(name)) {
    throw new InvalidLeaseArgumentError(argument, 'a name of 1-200 characters [A-Za-z0-9_.-/]', name);
  }
  return name;
}
