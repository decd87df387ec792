import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lab/emulator/errors.js';
import type { Tag } from '../../lab/emulator/model.js';
import { compileFilters, wildcardMatcher, type FilterFields } from '../../lab/emulator/query/filters.js';

describe('wildcardMatcher: AWS filter value patterns', () => {
  const cases: [pattern: string, text: string, matches: boolean][] = [
    ['nat-a1', 'nat-a1', true],
    ['nat-a1', 'nat-a10', false],
    ['nat-*', 'nat-a1', true],
    ['nat-*', 'nat-', true],
    ['nat-*', 'app-a1', false],
    ['*', '', true],
    ['*-a?', 'nat-a1', true],
    ['*-a?', 'nat-a12', false],
    ['?', '', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXcYYb', false],
    ['*a*a*a*a*a*a*a*a*b', 'a'.repeat(30), false],
    ['10.0.*.0/24', '10.0.100.0/24', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a\\?', 'a?', true],
    ['a\\?', 'ab', false],
    ['NAT-*', 'nat-a1', false], // case-sensitive, as EC2
  ];
  it.each(cases)('%j against %j → %s', (pattern, text, want) => expect(wildcardMatcher(pattern)(text)).toBe(want));

  it('a pattern without wildcards matches only itself', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !/[*?\\]/.test(s)), fc.string(), (p, t) => {
        expect(wildcardMatcher(p)(t)).toBe(p === t);
        expect(wildcardMatcher(p)(p)).toBe(true);
      }),
    );
  });

  it('"*" around any text finds that text as a substring', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !/[*?\\]/.test(s)), fc.string(), fc.string(), (mid, pre, post) => {
        expect(wildcardMatcher(`*${mid}*`)(pre + mid + post)).toBe(true);
      }),
    );
  });

  it('stays fast on adversarial patterns (no regex backtracking)', () => {
    const pattern = `${'*a'.repeat(200)}b`;
    const text = 'a'.repeat(20_000);
    const t0 = performance.now();
    expect(wildcardMatcher(pattern)(text)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

interface Thing {
  id: string;
  zone: string;
  states: string[];
  up: boolean;
  tags: Tag[];
}

const FIELDS: FilterFields<Thing> = {
  id: (t) => t.id,
  zone: (t) => t.zone,
  state: (t) => t.states,
  up: (t) => t.up,
};

const things: Thing[] = [
  { id: 'x1', zone: 'a', states: ['active'], up: true, tags: [{ key: 'Name', value: 'nat-a1' }] },
  { id: 'x2', zone: 'a', states: ['active', 'blackhole'], up: false, tags: [{ key: 'Name', value: 'nat-a2' }, { key: 'role', value: 'nat' }] },
  { id: 'x3', zone: 'b', states: [], up: true, tags: [] },
];

function select(filters: { name: string; values: string[] }[]): string[] {
  const keep = compileFilters(filters, FIELDS, (t: Thing) => t.tags);
  return things.filter(keep).map((t) => t.id);
}

describe('compileFilters', () => {
  it('no filters keep everything', () => expect(select([])).toEqual(['x1', 'x2', 'x3']));
  it('values of one filter are ORed', () => expect(select([{ name: 'id', values: ['x1', 'x3'] }])).toEqual(['x1', 'x3']));
  it('filters are ANDed', () =>
    expect(
      select([
        { name: 'zone', values: ['a'] },
        { name: 'up', values: ['true'] },
      ]),
    ).toEqual(['x1']));
  it('a multi-valued field matches when any of its values does', () => expect(select([{ name: 'state', values: ['blackhole'] }])).toEqual(['x2']));
  it('booleans compare as "true"/"false"', () => expect(select([{ name: 'up', values: ['false'] }])).toEqual(['x2']));
  it('tag:KEY matches that key with a matching value', () => expect(select([{ name: 'tag:Name', values: ['nat-*'] }])).toEqual(['x1', 'x2']));
  it('tag-key and tag-value match any tag', () => {
    expect(select([{ name: 'tag-key', values: ['role'] }])).toEqual(['x2']);
    expect(select([{ name: 'tag-value', values: ['nat-a?'] }])).toEqual(['x1', 'x2']);
  });

  it('an unknown filter name is InvalidParameterValue naming it', () => {
    for (const name of ['bogus', 'constructor', '__proto__', 'toString']) {
      let error: unknown;
      try {
        select([{ name, values: ['x'] }]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('InvalidParameterValue');
      expect((error as ApiError).message).toContain(`'${name}'`);
    }
  });

  it('tag filters are unknown for resources without tags', () => {
    expect(() => compileFilters([{ name: 'tag:Name', values: ['x'] }], FIELDS)).toThrow(ApiError);
  });
});
