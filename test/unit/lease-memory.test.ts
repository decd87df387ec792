import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lease/clock.js';
import { MemoryLeaseStore, memoryLeaseData } from '../../src/lease/memory.js';
import { leaseContract } from '../support/lease-contract.js';

const TTL = 5_000;

leaseContract('memory', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  return {
    async lease(participants) {
      const data = memoryLeaseData();
      return Array.from({ length: participants }, () => new MemoryLeaseStore({ clock, data }));
    },
    now: () => clock.now(),
    ttlMs: TTL,
    toleranceMs: 0,
    async expire() {
      clock.advance(TTL);
    },
    async close() {},
  };
});

describe('memory lease store specifics', () => {
  it('expires exactly at expiresAt on the caller clock', async () => {
    const clock = new ManualClock(1000);
    const store = new MemoryLeaseStore({ clock });
    const got = await store.acquire('a', 100);
    expect(got.expiresAt).toBe(1100);
    clock.advance(99);
    expect(await store.current()).not.toBeNull();
    const renewed = await store.renew('a', got.token);
    expect(renewed).toMatchObject({ held: true, expiresAt: 1199 });
    clock.advance(100);
    expect(await store.current()).toBeNull();
    expect(await store.renew('a', got.token)).toMatchObject({ reason: 'expired' });
  });

  it('reports a released lease as released', async () => {
    const store = new MemoryLeaseStore({ clock: new ManualClock(0) });
    const got = await store.acquire('a', 100);
    await store.release('a', got.token);
    expect(await store.renew('a', got.token)).toEqual({ held: false, lost: true, reason: 'released', current: null });
  });

  it('refuses a ttl over one day', async () => {
    const store = new MemoryLeaseStore({ clock: new ManualClock(0) });
    await expect(store.acquire('a', 86_400_001)).rejects.toThrow(/ttlMs: expected at most/);
  });
});
