import { describe, expect, it } from 'vitest';
import { createLeadership, safetyMarginMs, type Leadership } from '../../src/agent/leadership.js';
import type { LeaseStore } from '../../src/domain/ports/lease-store.js';
import { MemoryLeaseStore, memoryLeaseData } from '../../src/lease/memory.js';
import { silentLogger } from '../../src/telemetry/logger.js';

/** A manual clock and timers: the test moves time and runs due callbacks in order. */
function manualTime() {
  let now = 1_000_000;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    clock: { now: () => now },
    timers: {
      setTimeout: (fn: () => void, ms: number) => {
        const id = ++seq;
        due.set(id, { at: now + ms, fn });
        return id;
      },
      clearTimeout: (h: unknown) => void due.delete(h as number),
    },
    /** Advances time to `ms` later, running each due timer and letting its promises settle. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        due.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
        for (let i = 0; i < 20; i++) await Promise.resolve();
      }
      now = end;
      for (let i = 0; i < 20; i++) await Promise.resolve();
    },
  };
}

/** The store as seen by a participant whose link to it is down while `isDown(holder)`: every call times out. */
function unreachableFor(store: LeaseStore, isDown: (holder: string) => boolean): LeaseStore {
  return new Proxy(store, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (isDown(String(args[0])) ? Promise.reject(new Error('ETIMEDOUT')) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

const TTL = 6_000;
const RENEW = 2_000;

function participants(n: number, store?: (clock: { now(): number }) => LeaseStore, yieldOf?: (self: string) => () => boolean) {
  const t = manualTime();
  const data = memoryLeaseData();
  const changes: string[] = [];
  const nodes: Leadership[] = [];
  for (let i = 0; i < n; i++) {
    const self = `i-${i}`;
    nodes.push(
      createLeadership({
        store: store ? store(t.clock) : new MemoryLeaseStore({ clock: t.clock, data }),
        self,
        ttlMs: TTL,
        renewEveryMs: RENEW,
        clock: t.clock,
        logger: silentLogger,
        timers: t.timers,
        onChange: (leader) => changes.push(`${self} ${leader ? 'leader' : 'follower'}`),
        ...(yieldOf ? { yieldLeadership: yieldOf(self) } : {}),
      }),
    );
  }
  return { t, nodes, changes, data };
}

describe('leader election over the lease store', () => {
  it('exactly one of three becomes leader; all see the same holder; it keeps the lease by renewing', async () => {
    const { t, nodes, changes } = participants(3);
    for (const n of nodes) n.start();
    await t.advance(0);
    expect(nodes.filter((n) => n.isLeader())).toHaveLength(1);
    expect(changes).toEqual(['i-0 leader']);
    await t.advance(60_000);
    expect(nodes.map((n) => n.isLeader())).toEqual([true, false, false]);
    expect(new Set(nodes.map((n) => n.lease()?.holder))).toEqual(new Set(['i-0']));
    expect(nodes[0]!.token()).toBe(1);
    expect(nodes[1]!.token()).toBeUndefined();
  });

  it('a planned handover releases the lease; another node leads within one renew interval, with a higher token', async () => {
    const { t, nodes, changes } = participants(2);
    for (const n of nodes) n.start();
    await t.advance(0);
    await nodes[0]!.stepDown('sigterm');
    expect(nodes[0]!.isLeader()).toBe(false);
    await t.advance(RENEW);
    expect(nodes[1]!.isLeader()).toBe(true);
    expect(nodes[1]!.token()).toBe(2);
    // The node that stepped down does not campaign again.
    await t.advance(30_000);
    expect(nodes[0]!.isLeader()).toBe(false);
    expect(changes).toEqual(['i-0 leader', 'i-0 follower', 'i-1 leader']);
  });

  it('a leader that carries egress yields to a node that carries none; it leads again when it is the only candidate', async () => {
    let egressOn = 'i-0';
    let otherHealthy = true;
    // As the daemon decides: yield while carrying egress and a healthy peer carries none.
    const { t, nodes, changes } = participants(2, undefined, (self) => () => self === egressOn && otherHealthy);
    nodes[0]!.start();
    await t.advance(0);
    expect(nodes[0]!.isLeader()).toBe(false); // it carries egress and i-1 (not started yet, but "healthy") would lead
    otherHealthy = false;
    await t.advance(RENEW);
    expect(nodes[0]!.isLeader()).toBe(true);
    nodes[1]!.start();
    otherHealthy = true;
    await t.advance(RENEW);
    expect(nodes[0]!.isLeader()).toBe(false);
    await t.advance(RENEW);
    expect(nodes[1]!.isLeader()).toBe(true);
    expect(nodes[1]!.token()).toBe(2);
    // Egress moves to i-1 (a failover): i-1 now carries it and i-0 does not, so the lease moves back once.
    egressOn = 'i-1';
    await t.advance(2 * RENEW);
    expect(nodes[0]!.isLeader()).toBe(true);
    await t.advance(30_000);
    expect(changes).toEqual(['i-0 leader', 'i-0 follower', 'i-1 leader', 'i-1 follower', 'i-0 leader']);
  });

  it('canLead: only while campaigning and the last round reached the store (what a carrier of egress may yield to)', async () => {
    let broken = false;
    const data = memoryLeaseData();
    const { t, nodes } = participants(2, (clock) => unreachableFor(new MemoryLeaseStore({ clock, data }), (holder) => broken && holder === 'i-1'));
    expect(nodes[1]!.canLead()).toBe(false);
    for (const n of nodes) n.start();
    await t.advance(0);
    expect(nodes.map((n) => n.canLead())).toEqual([true, true]);
    broken = true;
    await t.advance(RENEW);
    expect(nodes.map((n) => n.canLead())).toEqual([true, false]);
    broken = false;
    await t.advance(RENEW);
    expect(nodes[1]!.canLead()).toBe(true);
    await nodes[1]!.stepDown('sigterm');
    expect(nodes[1]!.canLead()).toBe(false);
  });

  it('a leader that cannot reach the store stops leading before its lease expires; the other takes over only after expiry', async () => {
    let broken = false;
    const data = memoryLeaseData();
    const { t, nodes } = participants(2, (clock) => {
      // i-0's store link breaks; i-1's stays up (the store itself is fine).
      return unreachableFor(new MemoryLeaseStore({ clock, data }), (holder) => broken && holder === 'i-0');
    });
    for (const n of nodes) n.start();
    await t.advance(0);
    expect(nodes[0]!.isLeader()).toBe(true);
    const expiresAt = nodes[0]!.lease()!.expiresAt;
    broken = true;
    await t.advance(TTL - safetyMarginMs(TTL));
    // i-0 stops believing at expiresAt - margin: before anyone else can hold the lease.
    expect(nodes[0]!.isLeader()).toBe(false);
    expect(t.clock.now()).toBeLessThan(expiresAt);
    expect(nodes[1]!.isLeader()).toBe(false);
    await t.advance(RENEW * 2);
    expect(nodes[1]!.isLeader()).toBe(true);
    expect(nodes[1]!.token()).toBe(2);
  });

  it('never two leaders at once across random store outages (200 steps)', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const down = new Set<string>();
    const data = memoryLeaseData();
    const { t, nodes } = participants(3, (clock) => {
      return unreachableFor(new MemoryLeaseStore({ clock, data }), (holder) => down.has(holder));
    });
    for (const n of nodes) n.start();
    for (let step = 0; step < 200; step++) {
      const who = `i-${Math.floor(rnd() * 3)}`;
      if (rnd() < 0.5) down.add(who);
      else down.delete(who);
      await t.advance(Math.floor(rnd() * 1_500));
      expect(nodes.filter((n) => n.isLeader()).length).toBeLessThanOrEqual(1);
    }
  });
});
