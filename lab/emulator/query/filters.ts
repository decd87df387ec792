// Describe* filters as EC2 applies them: a filter matches when any of its values
// matches (OR), every filter must match (AND), and values may use the wildcards
// "*" (any run of characters) and "?" (exactly one); "\" escapes them.

import { invalidParameter } from '../errors.js';
import type { Tag } from '../model.js';
import { shown, type QueryFilter } from './params.js';

/** What a filter reads from a resource: one value, several (any may match), or none. */
export type FilterValue = string | number | boolean | undefined | readonly (string | number | boolean | undefined)[];

/** Filter name → how to read it from a resource; one table per resource kind. */
export type FilterFields<T> = Readonly<Record<string, (item: T) => FilterValue>>;

type Token = { kind: 'char'; ch: string } | { kind: 'one' } | { kind: 'any' };

/** Splits a pattern into literal characters and wildcards, honouring "\" escapes. */
function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) tokens.push({ kind: 'char', ch: pattern[++i]! });
    else if (c === '*') tokens.push({ kind: 'any' });
    else if (c === '?') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'char', ch: c });
  }
  return tokens;
}

/**
 * Matches with the classic greedy-star backtracking: it remembers only the last
 * "*", so it runs in O(pattern × text) at worst. A regex built from the pattern
 * could backtrack exponentially on values like "*a*a*a*…b".
 */
function matchTokens(tokens: readonly Token[], text: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const tok = tokens[p];
    if (tok && (tok.kind === 'one' || (tok.kind === 'char' && tok.ch === text[t]))) {
      p++;
      t++;
    } else if (tok?.kind === 'any') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (tokens[p]?.kind === 'any') p++;
  return p === tokens.length;
}

/** A predicate for one filter value: plain values compare by equality, patterns by wildcard. */
export function wildcardMatcher(pattern: string): (text: string) => boolean {
  if (!/[*?\\]/.test(pattern)) return (text) => text === pattern;
  const tokens = tokenize(pattern);
  return (text) => matchTokens(tokens, text);
}

function anyValueMatcher(values: readonly string[]): (text: string) => boolean {
  const matchers = values.map(wildcardMatcher);
  if (matchers.length === 1) return matchers[0]!;
  return (text) => matchers.some((m) => m(text));
}

function readsAny<T>(read: (item: T) => FilterValue, matches: (text: string) => boolean) {
  return (item: T): boolean => {
    const v = read(item);
    if (v === undefined) return false;
    if (typeof v === 'string') return matches(v);
    if (typeof v !== 'object') return matches(String(v));
    return v.some((x) => x !== undefined && matches(String(x)));
  };
}

/** tag:KEY, tag-key and tag-value, for resources that carry tags. */
function tagFilter<T>(name: string, tagsOf: (item: T) => readonly Tag[], matches: (text: string) => boolean) {
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (item: T) => tagsOf(item).some((t) => t.key === key && matches(t.value));
  }
  if (name === 'tag-key') return (item: T) => tagsOf(item).some((t) => matches(t.key));
  if (name === 'tag-value') return (item: T) => tagsOf(item).some((t) => matches(t.value));
  return undefined;
}

/**
 * Compiles the request's filters once into one predicate. An unknown filter
 * name is an error, as in EC2 ("The filter 'x' is invalid").
 */
export function compileFilters<T>(
  filters: readonly QueryFilter[],
  fields: FilterFields<T>,
  tagsOf?: (item: T) => readonly Tag[],
): (item: T) => boolean {
  const predicates = filters.map((f): ((item: T) => boolean) => {
    const matches = anyValueMatcher(f.values);
    if (Object.hasOwn(fields, f.name)) return readsAny(fields[f.name]!, matches);
    const byTag = tagsOf && tagFilter(f.name, tagsOf, matches);
    if (byTag) return byTag;
    throw invalidParameter(`The filter '${shown(f.name)}' is invalid`);
  });
  if (predicates.length === 0) return () => true;
  return (item) => predicates.every((p) => p(item));
}
