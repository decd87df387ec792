// The Lambda's lease session: an agent holding the lease means skip at once; another
// invocation of this Lambda (a sibling) is waited for, because its event may carry what
// the sibling's cycle did not know (a lifecycle token, a Spot notice).
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lease/clock.js';
import { MemoryLeaseStore } from '../../src/lease/memory.js';
import { acquireLeaseSession, type LeaseSession } from '../../src/lambda/lease-session.js';
import { createLogger } from '../../src/telemetry/logger.js';

const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
const logger = createLogger({ write: () => undefined });
const sessions: LeaseSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) if (s.held) await s.release();
});

function session(store: MemoryLeaseStore, holder: string, waitMs = 1_000) {
  return acquireLeaseSession({ store, holder, ttlMs: 6_000, renewEveryMs: 2_000, clock, logger, siblingPrefix: 'lambda:fn/', siblingWaitMs: waitMs, siblingPollMs: 20 }).then((s) => {
    sessions.push(s);
    return s;
  });
}

describe('acquireLeaseSession', () => {
  it('an agent holds the lease: not held, not a sibling, without waiting', async () => {
    const store = new MemoryLeaseStore({ clock });
    await store.acquire('i-0agent00000000000', 6_000);
    const started = Date.now();
    const s = await session(store, 'lambda:fn/req-1/aa');
    expect(s).toEqual({ held: false, holder: 'i-0agent00000000000', sibling: false });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('a sibling invocation holds it and releases: acquired after the wait, with a new token', async () => {
    const store = new MemoryLeaseStore({ clock });
    const first = await session(store, 'lambda:fn/req-1/aa');
    expect(first.held).toBe(true);
    setTimeout(() => void (first.held && first.release()), 100);
    const second = await session(store, 'lambda:fn/req-2/bb');
    expect(second).toMatchObject({ held: true, newToken: true });
    expect(second.held && first.held && second.token > first.token).toBe(true);
  });

  it('a sibling that stays busy past the wait: not held, marked as a sibling', async () => {
    const store = new MemoryLeaseStore({ clock });
    await session(store, 'lambda:fn/req-1/aa');
    const s = await session(store, 'lambda:fn/req-2/bb', 100);
    expect(s).toEqual({ held: false, holder: 'lambda:fn/req-1/aa', sibling: true });
  });
});
