// MaxResults / NextToken pagination over a Describe answer in the store's own
// (insertion) order, which is stable across calls. A token names the last key
// returned, so a page boundary survives resources appearing between calls, and
// remembers its position in case that resource has gone. Tokens are opaque to
// callers and bound to the action that issued them.

import { ApiError, invalidParameter } from '../errors.js';
import { readInt, shown } from './params.js';
import type { QueryParams } from './types.js';

/** AWS's MaxResults bounds for an action, e.g. DescribeRouteTables 5..100. */
export interface PageBounds {
  min: number;
  max: number;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

interface TokenBody {
  a: string; // action
  k: string; // last key returned
  i: number; // its index then
}

function encodeToken(body: TokenBody): string {
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

function decodeToken(token: string, action: string): TokenBody {
  const invalid = () => new ApiError('InvalidPaginationToken', `The pagination token '${shown(token)}' is not valid or is expired.`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof body !== 'object' || body === null) throw invalid();
  const { a, k, i } = body as Partial<TokenBody>;
  if (a !== action || typeof k !== 'string' || !Number.isSafeInteger(i) || i! < 0) throw invalid();
  return { a, k, i: i! };
}

/** One page of `items`. Without MaxResults and NextToken every item is returned. */
export function paginate<T>(items: readonly T[], keyOf: (item: T) => string, params: QueryParams, action: string, bounds: PageBounds): Page<T> {
  const maxResults = readInt(params, 'MaxResults');
  if (maxResults !== undefined && (maxResults < bounds.min || maxResults > bounds.max))
    throw invalidParameter(`Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${bounds.min} and ${bounds.max}.`);
  // An empty NextToken is what a naive pagination loop sends first: treat it as "from the start".
  const after = params.NextToken ? decodeToken(params.NextToken, action) : undefined;
  if (maxResults === undefined && after === undefined) return { items: [...items] };

  let from = 0;
  if (after) {
    const at = items.findIndex((item) => keyOf(item) === after.k);
    from = at >= 0 ? at + 1 : Math.min(after.i + 1, items.length);
  }
  const size = maxResults ?? bounds.max;
  const page = items.slice(from, from + size);
  const last = page[page.length - 1];
  if (last === undefined || from + size >= items.length) return { items: page };
  return { items: page, nextToken: encodeToken({ a: action, k: keyOf(last), i: from + page.length - 1 }) };
}
