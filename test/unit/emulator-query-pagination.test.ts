import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lab/emulator/errors.js';
import { paginate, type Page } from '../../lab/emulator/query/pagination.js';
import type { QueryParams } from '../../lab/emulator/query/types.js';

const BOUNDS = { min: 5, max: 100 };
const ids = (n: number) => Array.from({ length: n }, (_, i) => `rtb-${String(i).padStart(4, '0')}`);
const key = (s: string) => s;

function page(items: string[], params: QueryParams, action = 'DescribeRouteTables'): Page<string> {
  return paginate(items, key, params, action, BOUNDS);
}

/** Follows NextToken until the end, as an SDK paginator does. */
function walk(items: string[], maxResults: number): string[][] {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const p = page(items, { MaxResults: String(maxResults), ...(token ? { NextToken: token } : {}) });
    pages.push(p.items);
    token = p.nextToken;
  } while (token && pages.length < 1000);
  return pages;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('paginate', () => {
  it('without MaxResults or NextToken returns everything, in the given order, with no token', () => {
    const items = ids(250);
    expect(page(items, {})).toEqual({ items });
  });

  it('pages cover every item exactly once, in order, and the last page has no token', () => {
    const items = ids(250);
    const pages = walk(items, 100);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(items);
  });

  it('an exact multiple of the page size ends without an empty extra page', () => {
    expect(walk(ids(200), 100).map((p) => p.length)).toEqual([100, 100]);
  });

  it('a page boundary survives items added before it and a removed boundary item', () => {
    const items = ids(20);
    const first = page(items, { MaxResults: '5' });
    expect(first.items).toEqual(items.slice(0, 5));
    // A new item earlier in the order, and the boundary item itself gone:
    const changed = ['rtb-new', ...items.filter((i) => i !== items[4])];
    const second = page(changed, { MaxResults: '5', NextToken: first.nextToken! });
    expect(second.items).toEqual(items.slice(5, 10));
  });

  it('NextToken alone continues with pages of the maximum size', () => {
    const items = ids(250);
    const first = page(items, { MaxResults: '5' });
    expect(page(items, { NextToken: first.nextToken! }).items).toEqual(items.slice(5, 105));
  });

  it('an empty NextToken means "from the start"', () => {
    expect(page(ids(10), { NextToken: '', MaxResults: '5' }).items).toEqual(ids(5));
  });

  it.each(['4', '101', '0', '-5'])('MaxResults %s outside 5..100 is InvalidParameterValue', (v) => {
    expect(codeOf(() => page(ids(10), { MaxResults: v }))).toBe('InvalidParameterValue');
  });

  it('MaxResults that is not a number is InvalidParameterValue', () => {
    expect(codeOf(() => page(ids(10), { MaxResults: 'ten' }))).toBe('InvalidParameterValue');
  });

  it.each(['garbage', 'eyJ9', Buffer.from('{"a":"DescribeRouteTables","k":"x"}').toString('base64url'), Buffer.from('[1]').toString('base64url')])(
    'a token the lab did not issue (%s) is InvalidPaginationToken',
    (token) => expect(codeOf(() => page(ids(10), { NextToken: token }))).toBe('InvalidPaginationToken'),
  );

  it("a token from another action is InvalidPaginationToken", () => {
    const token = page(ids(10), { MaxResults: '5' }, 'DescribeInstances').nextToken!;
    expect(codeOf(() => page(ids(10), { NextToken: token }, 'DescribeRouteTables'))).toBe('InvalidPaginationToken');
  });

  it('the token is opaque: no raw IDs in it', () => {
    const token = page(ids(10), { MaxResults: '5' }).nextToken!;
    expect(token).not.toContain('rtb-');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
