import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lab/emulator/errors.js';
import {
  oneOf,
  parseQueryString,
  readAttributeBoolean,
  readBoolean,
  readFilters,
  readInt,
  readList,
  readMembers,
  readTags,
  requireString,
  shown,
} from '../../lab/emulator/query/params.js';

/** The ApiError a call throws (fails the test if it does not throw one). */
function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('parseQueryString', () => {
  it('decodes form encoding: + is a space, %XX escapes, repeated keys keep the last', () => {
    const p = parseQueryString('Action=DescribeVpcs&Filter.1.Value.1=a+b%2Fc&X=1&X=2');
    expect(p.Action).toBe('DescribeVpcs');
    expect(p['Filter.1.Value.1']).toBe('a b/c');
    expect(p.X).toBe('2');
  });

  it('never throws on malformed input and keeps bad escapes literal', () => {
    const p = parseQueryString('A=%ZZ&B=%E0%A4&=x&C');
    expect(p.A).toBe('%ZZ');
    expect(p.B).toBe('\ufffd');
    expect(p.C).toBe('');
  });

  it('treats "__proto__" and "constructor" as plain parameters', () => {
    const p = parseQueryString('__proto__=x&constructor=y');
    expect(p.__proto__).toBe('x');
    expect(p.constructor).toBe('y');
    expect(Object.getPrototypeOf(p)).toBeNull();
  });
});

describe('scalar readers', () => {
  it('requireString names the missing parameter; an empty value is missing', () => {
    expect(requireString({ A: 'x' }, 'A')).toBe('x');
    const e = errorOf(() => requireString({ A: '' }, 'A'));
    expect(e.code).toBe('MissingParameter');
    expect(e.message).toContain('A');
  });

  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['False', false],
  ])('readBoolean(%s) = %s', (v, want) => expect(readBoolean({ B: v }, 'B')).toBe(want));

  it('readBoolean rejects anything else, naming the parameter', () => {
    const e = errorOf(() => readBoolean({ DryRun: 'yes' }, 'DryRun'));
    expect(e.code).toBe('InvalidParameterValue');
    expect(e.message).toContain('DryRun');
    expect(readBoolean({}, 'DryRun')).toBeUndefined();
  });

  it('readInt parses integers and enforces bounds', () => {
    expect(readInt({ N: '42' }, 'N', { min: 0, max: 100 })).toBe(42);
    expect(readInt({ N: '-3' }, 'N')).toBe(-3);
    expect(errorOf(() => readInt({ N: '101' }, 'N', { min: 0, max: 100 })).message).toContain('N');
    for (const bad of ['4.5', 'ten', '', '1e3', '9'.repeat(40)]) expect(errorOf(() => readInt({ N: bad }, 'N')).code).toBe('InvalidParameterValue');
  });

  it('shown() keeps error messages short for huge values', () => {
    expect(shown('x'.repeat(10_000)).length).toBeLessThan(70);
    expect(shown('short')).toBe('short');
  });
});

describe('lists and structures', () => {
  it('readList returns Name.N values in index order, tolerating gaps and ignoring other keys', () => {
    const p = { 'InstanceId.10': 'c', 'InstanceId.2': 'b', 'InstanceId.1': 'a', 'InstanceId.x': 'no', 'InstanceId.0': 'no', 'InstanceIdX.1': 'no', 'InstanceId.1.Sub': 'no' };
    expect(readList(p, 'InstanceId')).toEqual(['a', 'b', 'c']);
    expect(readList({}, 'InstanceId')).toEqual([]);
  });

  it('readMembers groups Name.N.Field by N', () => {
    const members = readMembers({ 'Tag.2.Key': 'k2', 'Tag.1.Key': 'k1', 'Tag.1.Value': 'v1' }, 'Tag');
    expect(members.map((m) => [m.index, { ...m.fields }])).toEqual([
      [1, { Key: 'k1', Value: 'v1' }],
      [2, { Key: 'k2' }],
    ]);
  });

  it('readFilters reads Filter.N.Name and Filter.N.Value.M', () => {
    const p = { 'Filter.1.Name': 'vpc-id', 'Filter.1.Value.1': 'vpc-1', 'Filter.1.Value.2': 'vpc-2', 'Filter.2.Name': 'tag:Name', 'Filter.2.Value.1': 'nat-*' };
    expect(readFilters(p)).toEqual([
      { name: 'vpc-id', values: ['vpc-1', 'vpc-2'] },
      { name: 'tag:Name', values: ['nat-*'] },
    ]);
  });

  it('a filter without a name or without values is an error naming it', () => {
    expect(errorOf(() => readFilters({ 'Filter.1.Value.1': 'x' })).message).toContain('Name');
    expect(errorOf(() => readFilters({ 'Filter.3.Name': 'vpc-id' })).message).toContain('Filter.3.Value');
  });

  it('readTags defaults a missing value to "" (CreateTags) or leaves it out (DeleteTags)', () => {
    const p = { 'Tag.1.Key': 'a', 'Tag.1.Value': '1', 'Tag.2.Key': 'b' };
    expect(readTags(p)).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '' },
    ]);
    expect(readTags(p, true)).toEqual([{ key: 'a', value: '1' }, { key: 'b' }]);
    expect(errorOf(() => readTags({ 'Tag.1.Value': 'v' })).message).toContain('Tag.1.Key');
  });

  it('readAttributeBoolean accepts the SDK form and the older Attribute/Value form', () => {
    expect(readAttributeBoolean({ 'SourceDestCheck.Value': 'false' }, 'SourceDestCheck')).toBe(false);
    expect(readAttributeBoolean({ Attribute: 'sourceDestCheck', Value: 'true' }, 'SourceDestCheck')).toBe(true);
    expect(readAttributeBoolean({ Attribute: 'instanceType', Value: 't3.micro' }, 'SourceDestCheck')).toBeUndefined();
    expect(errorOf(() => readAttributeBoolean({ Attribute: 'sourceDestCheck' }, 'SourceDestCheck')).code).toBe('MissingParameter');
  });

  it('oneOf allows at most one of the named parameters', () => {
    expect(oneOf({ InstanceId: 'i-1' }, ['InstanceId', 'NetworkInterfaceId'])).toBe('InstanceId');
    expect(oneOf({}, ['InstanceId', 'NetworkInterfaceId'])).toBeUndefined();
    expect(errorOf(() => oneOf({ InstanceId: 'i', NetworkInterfaceId: 'e' }, ['InstanceId', 'NetworkInterfaceId'])).code).toBe('InvalidParameterCombination');
  });
});
