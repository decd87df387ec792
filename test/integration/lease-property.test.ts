/**
 * Property: no two participants ever both believe they hold the lease with a valid
 * token at the same instant, under random pauses, request/response delays and clock
 * skew within a stated bound. Run against the memory store and the DynamoDB store
 * (dynalite).
 *
 * The bound (what a natkeeper participant must do for this to hold):
 * - every participant's clock is off true time by at most S = SKEW_MS (a fixed skew per
 *   participant per run, drawn from [-S, S]), so two clocks differ by at most 2S;
 * - a participant believes it holds the lease only after a successful acquire/renew,
 *   and only while its own clock reads less than `expiresAt - margin`, with
 *   margin > 2S (here MARGIN_MS = 2S + 1); it stops believing before it sends a release,
 *   and at once on a LeaseLost or a STALE_TOKEN;
 * - a participant has one request in flight at a time (it waits for the answer).
 * Why it holds: the store stamps expiresAt from the holder's clock at send time, and a
 * taker can win only once its own clock (at its send time, at or after true time
 * expiresAt - S) passes expiresAt; the holder stopped believing at true time
 * expiresAt - margin + S < expiresAt - S. Request delays only make the stamp older
 * (conservative); response delays only shorten a belief.
 *
 * A control run with margin 0 shows the checker does find overlaps when the bound is broken.
 * Everything runs on simulated time: an event queue in true time (send, apply at the
 * store, receive), participants' stores read a clock frozen at their send time.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/domain/clock.js';
import type { LeaseStore } from '../../src/domain/ports/lease-store.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { MemoryLeaseStore, memoryLeaseData } from '../../src/lease/memory.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const SKEW_MS = 50;
const MARGIN_MS = 2 * SKEW_MS + 1;
const TTL_MS = 1000;
const MAX_DELAY_MS = 300;
const MAX_GAP_MS = 700;
const MAX_PAUSE_MS = 3000;

type Kind = 'acquire' | 'renew' | 'release' | 'append';

interface Op {
  p: number;
  kind: Kind;
  sendDelay: number;
  recvDelay: number;
  /** True time between this op's scheduled start and the previous one's (a pause when large). */
  gap: number;
}

interface Scenario {
  skews: number[];
  ops: Op[];
}

const anySkew = fc.integer({ min: -SKEW_MS, max: SKEW_MS });

const scenarioArb = (participants: { min: number; max: number }, maxOps: number, skew = anySkew) =>
  fc.integer(participants).chain((n) =>
    fc.record({
      skews: fc.array(skew, { minLength: n, maxLength: n }),
      ops: fc.array(
        fc.record({
          p: fc.integer({ min: 0, max: n - 1 }),
          kind: fc.constantFrom<Kind>('acquire', 'acquire', 'renew', 'renew', 'release', 'append'),
          sendDelay: fc.integer({ min: 0, max: MAX_DELAY_MS }),
          recvDelay: fc.integer({ min: 0, max: MAX_DELAY_MS }),
          gap: fc.oneof(
            { weight: 5, arbitrary: fc.integer({ min: 0, max: MAX_GAP_MS }) },
            { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX_PAUSE_MS }) },
          ),
        }),
        { minLength: 4, maxLength: maxOps },
      ),
    }),
  );

interface Belief {
  token: number;
  expiresAt: number;
}

interface Stats {
  runs: number;
  grants: number;
  takeovers: number;
  staleRefused: number;
}

interface Event {
  at: number;
  order: number;
  run: () => Promise<void>;
}

/** Runs one scenario; returns a description of the first overlap, or undefined. */
async function simulate(
  scenario: Scenario,
  makeStores: (clocks: Clock[]) => Promise<LeaseStore[]>,
  margin: number,
  stats: Stats,
): Promise<string | undefined> {
  const n = scenario.skews.length;
  const stamps = new Array<number>(n).fill(0);
  const clocks: Clock[] = stamps.map((_, i) => ({ now: () => stamps[i] as number }));
  const stores = await makeStores(clocks);
  const beliefs: (Belief | null)[] = new Array<Belief | null>(n).fill(null);
  const busyUntil = new Array<number>(n).fill(0);
  const events: Event[] = [];
  let order = 0;
  let now = 1_700_000_000_000;
  let lastToken = 0;
  let lastHolder = '';
  let violation: string | undefined;
  stats.runs++;

  const local = (i: number, t: number) => t + (scenario.skews[i] as number);
  const valid = (i: number, t: number) => {
    const b = beliefs[i];
    return b !== null && b !== undefined && local(i, t) < b.expiresAt - margin;
  };
  const check = (t: number) => {
    const believers = beliefs.map((_, i) => i).filter((i) => valid(i, t));
    if (believers.length > 1 && violation === undefined) {
      violation = `at true time ${t}: participants ${believers.join(', ')} all believe they hold the lease (${believers
        .map((i) => `#${i} token ${beliefs[i]?.token} until ${beliefs[i]?.expiresAt} local ${local(i, t)}`)
        .join('; ')})`;
    }
  };
  const schedule = (at: number, run: () => Promise<void>) => events.push({ at, order: order++, run });

  let start = now;
  for (const op of scenario.ops) {
    start += op.gap;
    const i = op.p;
    const sendAt = Math.max(start, busyUntil[i] as number);
    const applyAt = sendAt + op.sendDelay;
    const recvAt = applyAt + op.recvDelay;
    busyUntil[i] = recvAt;
    const store = stores[i] as LeaseStore;
    const holder = `node-${i}`;
    let outcome: (() => void) | undefined;
    let kind: Kind = op.kind;
    let belief: Belief | null = null;
    // send: read the participant's clock (the store uses this stamp), decide what to send.
    schedule(sendAt, async () => {
      stamps[i] = local(i, sendAt);
      belief = beliefs[i] ?? null;
      if (kind !== 'acquire' && belief === null) kind = 'acquire';
      if (kind === 'append' && !valid(i, sendAt)) kind = 'renew';
      if (kind === 'release') beliefs[i] = null; // stop believing before letting go
    });
    // apply: the request reaches the store.
    schedule(applyAt, async () => {
      const b = belief;
      if (kind === 'acquire') {
        const r = await store.acquire(holder, TTL_MS);
        if (r.held) {
          if (r.token > lastToken) {
            stats.grants++;
            if (lastToken > 0) stats.takeovers++;
            lastToken = r.token;
            lastHolder = holder;
          } else if (r.token < lastToken || lastHolder !== holder) {
            violation ??= `${holder} got token ${r.token}; the last token issued was ${lastToken} to ${lastHolder}`;
          }
        }
        outcome = () => {
          beliefs[i] = r.held ? { token: r.token, expiresAt: r.expiresAt } : null;
        };
      } else if (kind === 'renew' && b !== null) {
        const r = await store.renew(holder, b.token);
        outcome = () => {
          beliefs[i] = r.held ? { token: r.token, expiresAt: r.expiresAt } : null;
        };
      } else if (kind === 'release' && b !== null) {
        await store.release(holder, b.token);
      } else if (kind === 'append' && b !== null) {
        try {
          await store.append({ holder, action: 'act', detail: { at: sendAt } }, b.token);
        } catch (err) {
          if ((err as { code?: string }).code !== 'STALE_TOKEN') throw err;
          stats.staleRefused++;
          outcome = () => {
            beliefs[i] = null;
          };
        }
      }
    });
    // receive: the answer reaches the participant.
    schedule(recvAt, async () => {
      outcome?.();
    });
  }

  while (events.length > 0 && violation === undefined) {
    events.sort((a, b) => a.at - b.at || a.order - b.order);
    const ev = events.shift() as Event;
    now = ev.at;
    await ev.run();
    check(now);
  }
  if (violation !== undefined) return violation;
  // The decision log is fenced: tokens never go down in the order appends were accepted.
  const log = await (stores[0] as LeaseStore).history(1000);
  for (let k = 1; k < log.length; k++) {
    if ((log[k] as { token: number }).token > (log[k - 1] as { token: number }).token) {
      return `decision log tokens out of order: ${log.map((r) => r.token).join(',')}`;
    }
  }
  return undefined;
}

const memoryStores = async (clocks: Clock[]) => {
  const data = memoryLeaseData();
  return clocks.map((clock) => new MemoryLeaseStore({ clock, data }));
};

describe('lease safety under delays, pauses and bounded clock skew', () => {
  it(`memory store: at most one believer at any instant (|skew| <= ${SKEW_MS} ms, margin ${MARGIN_MS} ms, 200 runs)`, async () => {
    const stats: Stats = { runs: 0, grants: 0, takeovers: 0, staleRefused: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb({ min: 2, max: 4 }, 40), async (scenario) => {
        const violation = await simulate(scenario, memoryStores, MARGIN_MS, stats);
        expect(violation).toBeUndefined();
      }),
      { numRuns: 200, seed: 20261123 },
    );
    // The runs exercised what they claim to: many grants and takeovers.
    expect(stats.takeovers).toBeGreaterThan(100);
  });

  it('control: with margin 0 and skewed clocks the checker finds two believers', async () => {
    const stats: Stats = { runs: 0, grants: 0, takeovers: 0, staleRefused: 0 };
    const result = await fc.check(
      fc.asyncProperty(
        scenarioArb({ min: 2, max: 2 }, 40, fc.constantFrom(-SKEW_MS, SKEW_MS)),
        async (scenario) => (await simulate(scenario, memoryStores, 0, stats)) === undefined,
      ),
      { numRuns: 2000, seed: 7 },
    );
    expect(result.failed).toBe(true);
    expect(result.numRuns).toBeLessThan(2000);
  });

  describe('dynamodb (dynalite)', () => {
    let server: DynaliteServer;
    let runs = 0;
    beforeAll(async () => {
      server = await startDynalite();
    });
    afterAll(async () => {
      await server?.close();
    });

    it(`at most one believer at any instant (|skew| <= ${SKEW_MS} ms, margin ${MARGIN_MS} ms, 100 runs)`, async () => {
      const client = server.client();
      await new DynamoDbLeaseStore({ client, tableName: 'lease-prop', clock: { now: () => 0 } }).ensureTable();
      const stats: Stats = { runs: 0, grants: 0, takeovers: 0, staleRefused: 0 };
      const stores = async (clocks: Clock[]) => {
        const leaseName = `prop-${++runs}`;
        return clocks.map((clock) => new DynamoDbLeaseStore({ client, tableName: 'lease-prop', leaseName, clock }));
      };
      await fc.assert(
        fc.asyncProperty(scenarioArb({ min: 2, max: 4 }, 30), async (scenario) => {
          const violation = await simulate(scenario, stores, MARGIN_MS, stats);
          expect(violation).toBeUndefined();
        }),
        { numRuns: 100, seed: 20261123 },
      );
      expect(stats.takeovers).toBeGreaterThan(30);
    });
  });
});
