// Reading Query-protocol parameters: the flat "Name.N.Field" form the AWS SDKs
// and the CLI send, decoded from an x-www-form-urlencoded body or query string.
// Readers validate as EC2 does and throw ApiError naming the parameter.

import { ApiError, invalidParameter, missingParameter } from '../errors.js';
import type { QueryParams } from './types.js';

/**
 * Decodes a form-encoded body or query string. Never throws: URLSearchParams
 * leaves bad %-escapes literal and turns invalid UTF-8 into U+FFFD. The result
 * has no prototype, so a parameter named "__proto__" or "constructor" is just data.
 */
export function parseQueryString(text: string): QueryParams {
  const params: QueryParams = Object.create(null) as QueryParams;
  for (const [key, value] of new URLSearchParams(text)) params[key] = value;
  return params;
}

/** A user-supplied value quoted in an error message, cut short so a 1 MiB value cannot make a 1 MiB message. */
export function shown(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

/** A required parameter; an empty value counts as missing, as in EC2. */
export function requireString(params: QueryParams, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw missingParameter(name);
  return value;
}

export function readBoolean(params: QueryParams, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  // EC2 accepts any case ("True" from hand-written requests); the SDKs send lowercase.
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw invalidParameter(`Value (${shown(value)}) for parameter ${name} is invalid. Expected 'true' or 'false'.`);
}

export function readInt(params: QueryParams, name: string, bounds?: { min: number; max: number }): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(value)) throw invalidParameter(`Value (${shown(value)}) for parameter ${name} is invalid. Expected an integer.`);
  const n = Number(value);
  if (bounds && (n < bounds.min || n > bounds.max))
    throw invalidParameter(`Value (${n}) for parameter ${name} is invalid. Expected a value between ${bounds.min} and ${bounds.max}.`);
  return n;
}

/** Keys "prefix.N…" grouped by N (a positive integer), in index order; gaps are tolerated. */
function indexedEntries(params: QueryParams, prefix: string): { index: number; rest: string; value: string }[] {
  const head = `${prefix}.`;
  const out: { index: number; rest: string; value: string }[] = [];
  for (const key in params) {
    if (!key.startsWith(head)) continue;
    const dot = key.indexOf('.', head.length);
    const digits = key.slice(head.length, dot < 0 ? undefined : dot);
    if (!/^[1-9]\d{0,8}$/.test(digits)) continue;
    out.push({ index: Number(digits), rest: dot < 0 ? '' : key.slice(dot + 1), value: params[key]! });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** A flat list: "InstanceId.1", "InstanceId.2", … → values in index order. */
export function readList(params: QueryParams, name: string): string[] {
  return indexedEntries(params, name)
    .filter((e) => e.rest === '')
    .map((e) => e.value);
}

/**
 * A list of structures: "Filter.1.Name", "Filter.1.Value.1", … → one QueryParams per
 * index with the member's own keys ("Name", "Value.1"), plus the index for error messages.
 */
export function readMembers(params: QueryParams, name: string): { index: number; fields: QueryParams }[] {
  const members = new Map<number, QueryParams>();
  for (const e of indexedEntries(params, name)) {
    if (e.rest === '') continue;
    let fields = members.get(e.index);
    if (!fields) members.set(e.index, (fields = Object.create(null) as QueryParams));
    fields[e.rest] = e.value;
  }
  return [...members].map(([index, fields]) => ({ index, fields }));
}

export interface QueryFilter {
  name: string;
  values: string[];
}

/** Filter.N.Name and Filter.N.Value.M. */
export function readFilters(params: QueryParams): QueryFilter[] {
  return readMembers(params, 'Filter').map(({ index, fields }) => {
    const name = requireString(fields, 'Name');
    const values = readList(fields, 'Value');
    if (values.length === 0) throw missingParameter(`Filter.${index}.Value`);
    return { name, values };
  });
}

/** Tag.N.Key and Tag.N.Value; a missing value is "" unless `optionalValue` (DeleteTags: any value). */
export function readTags(params: QueryParams, optionalValue: true): { key: string; value?: string }[];
export function readTags(params: QueryParams, optionalValue?: false): { key: string; value: string }[];
export function readTags(params: QueryParams, optionalValue = false): { key: string; value?: string }[] {
  return readMembers(params, 'Tag').map(({ index, fields }) => {
    const key = fields.Key;
    if (key === undefined) throw missingParameter(`Tag.${index}.Key`);
    const value = fields.Value ?? (optionalValue ? undefined : '');
    return value === undefined ? { key } : { key, value };
  });
}

/** "SourceDestCheck.Value=false" (the SDK) or the older "Attribute=sourceDestCheck&Value=false". */
export function readAttributeBoolean(params: QueryParams, name: string): boolean | undefined {
  const nested = readBoolean(params, `${name}.Value`);
  if (nested !== undefined) return nested;
  const attribute = params.Attribute;
  if (attribute !== undefined && attribute.toLowerCase() === name.toLowerCase()) {
    const value = readBoolean(params, 'Value');
    if (value === undefined) throw missingParameter('Value');
    return value;
  }
  return undefined;
}

/** At most one of the given parameters may be present; returns which one (or undefined). */
export function oneOf(params: QueryParams, names: readonly string[]): string | undefined {
  const present = names.filter((n) => params[n] !== undefined);
  if (present.length > 1)
    throw new ApiError('InvalidParameterCombination', `The parameters ${present.join(' and ')} cannot be used together.`);
  return present[0];
}
