import { describe, expect, it } from 'vitest';
import { ManualClock, skewedClock } from '../../src/lease/clock.js';
import { InvalidLeaseArgumentError, StaleTokenError } from '../../src/lease/errors.js';
import { checkEntry, checkHolder, checkLimit, checkToken, checkTtl } from '../../src/lease/validate.js';

describe('lease argument checks', () => {
  it.each([
    ['holder', () => checkHolder(''), 'holder: expected a non-empty holder id, got ""'],
    ['holder', () => checkHolder(undefined), 'holder: expected a non-empty holder id, got undefined'],
    ['holder', () => checkHolder('x'.repeat(300)), 'holder: expected a holder id of at most 256 characters'],
    ['ttlMs', () => checkTtl(0), 'ttlMs: expected a positive integer number of milliseconds, got 0'],
    ['ttlMs', () => checkTtl(-5), 'ttlMs: expected a positive integer number of milliseconds, got -5'],
    ['ttlMs', () => checkTtl(2.5), 'ttlMs: expected a positive integer number of milliseconds, got 2.5'],
    ['ttlMs', () => checkTtl('1000'), 'ttlMs: expected a positive integer number of milliseconds, got "1000"'],
    ['token', () => checkToken(-1), 'token: expected a positive integer fencing token, got -1'],
    ['limit', () => checkLimit(0), 'limit: expected a positive integer, got 0'],
    ['entry', () => checkEntry(null), 'entry: expected an object with holder and action, got null'],
    ['entry.detail', () => checkEntry({ holder: 'a', action: 'b', detail: [] }), 'entry.detail: expected an object'],
  ])('%s: %s', (argument, fn, message) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidLeaseArgumentError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', argument });
    expect((err as Error).message).toContain(message);
  });

  it('accepts good values unchanged', () => {
    expect(checkHolder('nat-a')).toBe('nat-a');
    expect(checkTtl(1)).toBe(1);
    expect(checkToken(7)).toBe(7);
    expect(checkEntry({ holder: 'a', action: 'b', detail: { x: 1 } })).toEqual({ holder: 'a', action: 'b', detail: { x: 1 } });
  });
});

describe('lease errors and clocks', () => {
  it('a stale token error says which token is current and what to do', () => {
    const err = new StaleTokenError(3, 5);
    expect(err).toMatchObject({ code: 'STALE_TOKEN', token: 3, currentToken: 5, name: 'StaleTokenError' });
    expect(err.message).toBe(
      'fencing token 3 is stale (the current token is 5): the decision was not written; stop acting and re-acquire the lease',
    );
  });

  it('manual and skewed clocks', () => {
    const clock = new ManualClock(100);
    const ahead = skewedClock(clock, 25);
    clock.advance(10);
    expect(clock.now()).toBe(110);
    expect(ahead.now()).toBe(135);
    expect(() => clock.advance(-1)).toThrow(/advance/);
  });
});
