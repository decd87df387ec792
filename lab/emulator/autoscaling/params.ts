// Reading awsQuery parameters the way Auto Scaling validates them: lists as
// Name.member.N, and Coral-style ValidationError messages that name the member
// ("Value null at 'instanceId' failed to satisfy constraint: ...").
// Small and local on purpose: Auto Scaling's error wording differs from EC2's.

import { ApiError } from '../errors.js';
import { shown as clip } from '../query/params.js';
import type { QueryParams } from '../query/types.js';

export const validationError = (message: string) => new ApiError('ValidationError', message);

/** "InstanceId" → "instanceId", the name AWS's validation messages use. */
const memberName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

function constraint(name: string, value: string | undefined, rule: string): ApiError {
  // A huge bad value must not make a huge error message.
  const shown = value === undefined ? 'null' : `'${clip(value)}'`;
  return validationError(`1 validation error detected: Value ${shown} at '${memberName(name)}' failed to satisfy constraint: ${rule}`);
}

export function optionalString(p: QueryParams, name: string, maxLength = 1600): string | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (v.length < 1) throw constraint(name, v, 'Member must have length greater than or equal to 1');
  if (v.length > maxLength) throw constraint(name, v, `Member must have length less than or equal to ${maxLength}`);
  return v;
}

export function requiredString(p: QueryParams, name: string, maxLength = 1600): string {
  const v = optionalString(p, name, maxLength);
  if (v === undefined) throw constraint(name, undefined, 'Member must not be null');
  return v;
}

export function optionalEnum<T extends string>(p: QueryParams, name: string, values: readonly T[]): T | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v))
    throw constraint(name, v, `Member must satisfy enum value set: [${values.join(', ')}]`);
  return v as T;
}

export function optionalBoolean(p: QueryParams, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw validationError(`Invalid value '${clip(v)}' for ${name}: expected true or false`);
}

export function optionalInt(p: QueryParams, name: string, min: number, max: number): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw validationError(`Invalid value '${clip(v)}' for ${name}: expected an integer`);
  const n = Number(v);
  if (n < min) throw constraint(name, v, `Member must have value greater than or equal to ${min}`);
  if (n > max) throw constraint(name, v, `Member must have value less than or equal to ${max}`);
  return n;
}

/** Name.member.1, Name.member.2, … in index order. Gaps are tolerated, as AWS does. */
export function memberList(p: QueryParams, name: string): string[] {
  const prefix = `${name}.member.`;
  const entries: [number, string][] = [];
  for (const [k, v] of Object.entries(p)) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    if (!/^\d+$/.test(rest)) continue;
    entries.push([Number(rest), v]);
  }
  return entries.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

export interface QueryFilter {
  name: string;
  values: string[];
}

/** Filters.member.N.Name / Filters.member.N.Values.member.M */
export function filterList(p: QueryParams, name = 'Filters'): QueryFilter[] {
  const prefix = `${name}.member.`;
  const indexes = new Set<number>();
  for (const k of Object.keys(p)) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(k.slice(prefix.length));
    if (m) indexes.add(Number(m[1]));
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((i) => {
      const filterName = p[`${prefix}${i}.Name`];
      if (filterName === undefined) throw constraint(`${name}.member.${i}.Name`, undefined, 'Member must not be null');
      return { name: filterName, values: memberList(p, `${prefix}${i}.Values`) };
    });
}

/**
 * Opaque page tokens: the key of the last item returned, bound to the action
 * that issued them, so a page boundary survives items coming and going.
 */
export function encodeNextToken(action: string, lastKey: string): string {
  return Buffer.from(JSON.stringify({ a: action, k: lastKey })).toString('base64url');
}

export function decodeNextToken(action: string, token: string | undefined): string | undefined {
  // An empty token is what a naive pagination loop sends first: from the start.
  if (token === undefined || token === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown; k?: unknown };
    if (v.a === action && typeof v.k === 'string') return v.k;
  } catch {
    // falls through to the error
  }
  throw new ApiError('InvalidNextToken', `The token '${token.length > 64 ? `${token.slice(0, 64)}…` : token}' is invalid.`);
}

/** One page of items (sorted here by key) and the token for the next page, if any. */
export function paginate<T>(
  action: string,
  items: readonly T[],
  keyOf: (item: T) => string,
  p: QueryParams,
  maxRecordsLimit: number,
): { page: T[]; nextToken?: string } {
  const max = optionalInt(p, 'MaxRecords', 1, maxRecordsLimit) ?? Math.min(50, maxRecordsLimit);
  const after = decodeNextToken(action, p.NextToken);
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const from = after === undefined ? 0 : sorted.findIndex((x) => keyOf(x) > after);
  const rest = from < 0 ? [] : sorted.slice(from);
  const page = rest.slice(0, max);
  const last = page[page.length - 1];
  return rest.length > max && last ? { page, nextToken: encodeNextToken(action, keyOf(last)) } : { page };
}
