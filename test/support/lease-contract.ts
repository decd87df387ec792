// The LeaseStore contract, one suite run against every implementation:
// memory (test/unit/lease-memory.test.ts), DynamoDB on dynalite and etcd
// (test/integration/lease-dynamodb.test.ts, lease-etcd.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../src/domain/ports/lease-store.js';

/** One backend, as the suite drives it. */
export interface LeaseHarness {
  /** A fresh, empty lease (its own name/prefix), seen by `participants` stores. */
  lease(participants: number): Promise<LeaseStore[]>;
  /** The clock the stores read (for expiresAt checks). */
  now(): number;
  /** The ttl the suite uses (etcd counts whole seconds). */
  ttlMs: number;
  /** How far expiresAt may be from now + ttl (0 with a manual clock). */
  toleranceMs: number;
  /** Let the lease held by `store` run out (advance a manual clock, or wait for the server). */
  expire(store: LeaseStore): Promise<void>;
  close(): Promise<void>;
}

async function expectCode(p: Promise<unknown>, code: string, argument?: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  if (argument !== undefined) {
    expect((err as { argument?: string }).argument).toBe(argument);
    expect((err as Error).message).toContain(argument);
  }
}

export function leaseContract(name: string, factory: () => Promise<LeaseHarness>): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let h: LeaseHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.close();
    });

    it('acquires a free lease, extends it for the same holder, refuses another holder', async () => {
      const [a, b] = (await h.lease(2)) as [LeaseStore, LeaseStore];
      expect(await a.current()).toBeNull();
      expect(await a.currentToken()).toBe(0);
      const t0 = h.now();
      const got = await a.acquire('node-a', h.ttlMs);
      expect(got).toMatchObject({ held: true, holder: 'node-a' });
      expect(got.token).toBeGreaterThan(0);
      expect(got.expiresAt).toBeGreaterThanOrEqual(t0 + h.ttlMs);
      expect(got.expiresAt).toBeLessThanOrEqual(h.now() + h.ttlMs + h.toleranceMs);
      expect(await b.current()).toMatchObject({ holder: 'node-a', token: got.token });
      expect(await b.currentToken()).toBe(got.token);

      const again = await a.acquire('node-a', h.ttlMs);
      expect(again).toMatchObject({ held: true, holder: 'node-a', token: got.token });
      expect(again.expiresAt).toBeGreaterThanOrEqual(got.expiresAt);

      const busy = await b.acquire('node-b', h.ttlMs);
      expect(busy).toMatchObject({ held: false, holder: 'node-a', token: got.token });
    });

    it('renews for the holder and token only', async () => {
      const [a, b] = (await h.lease(2)) as [LeaseStore, LeaseStore];
      const got = await a.acquire('node-a', h.ttlMs);
      if (!got.held) throw new Error('not held');
      const renewed = await a.renew('node-a', got.token);
      expect(renewed).toMatchObject({ held: true, holder: 'node-a', token: got.token });
      if (!renewed.held) throw new Error('not renewed');
      expect(renewed.expiresAt).toBeGreaterThanOrEqual(got.expiresAt - h.toleranceMs);
      expect(await b.renew('node-b', got.token)).toMatchObject({ held: false, lost: true, reason: 'taken' });
      expect(await a.renew('node-a', got.token + 1)).toMatchObject({ held: false, lost: true, reason: 'taken' });
      // The failed renews changed nothing.
      expect(await b.current()).toMatchObject({ holder: 'node-a', token: got.token });
    });

    it('releases for the holder and token only; a released lease is free', async () => {
      const [a, b] = (await h.lease(2)) as [LeaseStore, LeaseStore];
      const got = await a.acquire('node-a', h.ttlMs);
      expect(await b.release('node-b', got.token)).toBe(false);
      expect(await a.release('node-a', got.token + 1)).toBe(false);
      expect(await a.current()).not.toBeNull();
      expect(await a.release('node-a', got.token)).toBe(true);
      expect(await a.release('node-a', got.token)).toBe(false);
      expect(await b.current()).toBeNull();
      const lost = await a.renew('node-a', got.token);
      expect(lost).toMatchObject({ held: false, lost: true });
      if (lost.held) throw new Error('held');
      expect(['released', 'expired']).toContain(lost.reason);
      const next = await b.acquire('node-b', h.ttlMs);
      expect(next).toMatchObject({ held: true, holder: 'node-b' });
      expect(next.token).toBeGreaterThan(got.token);
    });

    it('expires: the lease is free again, an expired lease is not renewed, a takeover increments the token', async () => {
      const [a, b] = (await h.lease(2)) as [LeaseStore, LeaseStore];
      const first = await a.acquire('node-a', h.ttlMs);
      await h.expire(a);
      expect(await b.current()).toBeNull();
      expect(await a.renew('node-a', first.token)).toMatchObject({ held: false, lost: true, reason: 'expired' });

      const second = await b.acquire('node-b', h.ttlMs);
      expect(second).toMatchObject({ held: true, holder: 'node-b' });
      expect(second.token).toBeGreaterThan(first.token);
      expect(await a.renew('node-a', first.token)).toMatchObject({
        held: false,
        lost: true,
        reason: 'taken',
        current: { holder: 'node-b', token: second.token },
      });
      expect(await a.acquire('node-a', h.ttlMs)).toMatchObject({ held: false, holder: 'node-b' });

      // The old holder coming back after another expiry gets a newer token still.
      await h.expire(b);
      const third = await a.acquire('node-a', h.ttlMs);
      expect(third).toMatchObject({ held: true, holder: 'node-a' });
      expect(third.token).toBeGreaterThan(second.token);
    });

    it('lets exactly one of many concurrent acquirers win', async () => {
      const stores = await h.lease(6);
      const results = await Promise.all(stores.map((s, i) => s.acquire(`node-${i}`, h.ttlMs)));
      const winners = results.filter((r) => r.held);
      expect(winners).toHaveLength(1);
      for (const r of results) expect(r).toMatchObject({ holder: winners[0]?.holder, token: winners[0]?.token });
    });

    it('decision log: appends with the current token only, history newest first', async () => {
      const [a, b] = (await h.lease(2)) as [LeaseStore, LeaseStore];
      await expectCode(a.append({ holder: 'node-a', action: 'noop' }, 1), 'STALE_TOKEN');
      const first = await a.acquire('node-a', h.ttlMs);
      const r1 = await a.append({ holder: 'node-a', action: 'route-replace', detail: { zone: 'a', tables: ['rtb-1'] } }, first.token);
      expect(r1).toMatchObject({ holder: 'node-a', action: 'route-replace', token: first.token });
      await a.append({ holder: 'node-a', action: 'eni-move' }, first.token);
      await expectCode(b.append({ holder: 'node-b', action: 'nope' }, first.token + 1), 'STALE_TOKEN');

      await h.expire(a);
      const second = await b.acquire('node-b', h.ttlMs);
      const stale = await a.append({ holder: 'node-a', action: 'late' }, first.token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(stale).toMatchObject({ code: 'STALE_TOKEN', token: first.token });
      expect((stale as Error).message).toMatch(/stale/);
      await b.append({ holder: 'node-b', action: 'failback' }, second.token);

      const all = await a.history(10);
      expect(all.map((r) => r.action)).toEqual(['failback', 'eni-move', 'route-replace']);
      expect(all.map((r) => r.token)).toEqual([second.token, first.token, first.token]);
      const seqs = all.map((r) => r.seq);
      expect([...seqs].sort((x, y) => y - x)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(3);
      expect(all[2]).toMatchObject({ detail: { zone: 'a', tables: ['rtb-1'] } });
      expect((await b.history(2)).map((r) => r.action)).toEqual(['failback', 'eni-move']);
    });

    it('refuses bad arguments with errors naming them', async () => {
      const [a] = (await h.lease(1)) as [LeaseStore];
      await expectCode(a.acquire('', h.ttlMs), 'INVALID_ARGUMENT', 'holder');
      await expectCode(a.acquire('   ', h.ttlMs), 'INVALID_ARGUMENT', 'holder');
      for (const ttl of [0, -1000, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectCode(a.acquire('node-a', ttl), 'INVALID_ARGUMENT', 'ttlMs');
      }
      await expectCode(a.renew('', 1), 'INVALID_ARGUMENT', 'holder');
      await expectCode(a.renew('node-a', 0), 'INVALID_ARGUMENT', 'token');
      await expectCode(a.release('node-a', 2.5), 'INVALID_ARGUMENT', 'token');
      await expectCode(a.history(0), 'INVALID_ARGUMENT', 'limit');
      await expectCode(a.append({ holder: '', action: 'x' }, 1), 'INVALID_ARGUMENT', 'entry.holder');
      await expectCode(a.append({ holder: 'node-a', action: '' }, 1), 'INVALID_ARGUMENT', 'entry.action');
      // Nothing was written.
      expect(await a.current()).toBeNull();
      expect(await a.currentToken()).toBe(0);
    });
  });
}
