// The DynamoDB lease store against dynalite (in-process, 127.0.0.1, a free port).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lease/clock.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';
import { leaseContract } from '../support/lease-contract.js';

const TTL = 5_000;
const TABLE = 'natkeeper-leases';

leaseContract('dynamodb (dynalite)', async () => {
  const server = await startDynalite();
  const client = server.client();
  const clock = new ManualClock(1_700_000_000_000);
  await new DynamoDbLeaseStore({ client, tableName: TABLE, clock }).ensureTable();
  let n = 0;
  return {
    async lease(participants) {
      const leaseName = `lease-${++n}`;
      return Array.from({ length: participants }, () => new DynamoDbLeaseStore({ client, tableName: TABLE, leaseName, clock }));
    },
    now: () => clock.now(),
    ttlMs: TTL,
    toleranceMs: 0,
    async expire() {
      clock.advance(TTL);
    },
    close: () => server.close(),
  };
});

describe('dynamodb lease store specifics', () => {
  let server: DynaliteServer;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('ensureTable is idempotent and leases in one table are independent', async () => {
    const client = server.client();
    const clock = new ManualClock(10_000);
    const one = new DynamoDbLeaseStore({ client, tableName: 'lease-t1', leaseName: 'one', clock });
    const two = new DynamoDbLeaseStore({ client, tableName: 'lease-t1', leaseName: 'two', clock });
    await one.ensureTable();
    await two.ensureTable();
    const a = await one.acquire('a', 1000);
    const b = await two.acquire('b', 1000);
    expect(a).toMatchObject({ held: true, token: 1, expiresAt: 11_000 });
    expect(b).toMatchObject({ held: true, token: 1 });
    await one.append({ holder: 'a', action: 'x' }, 1);
    expect(await two.history(5)).toEqual([]);
  });

  it('compares expiry with the caller clock: a skewed caller sees expiry when its clock says so', async () => {
    const client = server.client();
    const base = new ManualClock(50_000);
    const ahead = { now: () => base.now() + 300 };
    const a = new DynamoDbLeaseStore({ client, tableName: 'lease-t2', clock: base });
    const b = new DynamoDbLeaseStore({ client, tableName: 'lease-t2', clock: ahead });
    await a.ensureTable();
    const got = await a.acquire('a', 1000);
    base.advance(699);
    expect(await b.acquire('b', 1000)).toMatchObject({ held: false, holder: 'a' });
    base.advance(1);
    expect(await b.acquire('b', 1000)).toMatchObject({ held: true, holder: 'b', token: got.token + 1 });
  });

  it('reports a released lease as released and keeps the token counter', async () => {
    const client = server.client();
    const clock = new ManualClock(0);
    const s = new DynamoDbLeaseStore({ client, tableName: 'lease-t3', clock });
    await s.ensureTable();
    const got = await s.acquire('a', 1000);
    expect(await s.release('a', got.token)).toBe(true);
    expect(await s.renew('a', got.token)).toEqual({ held: false, lost: true, reason: 'released', current: null });
    expect(await s.currentToken()).toBe(got.token);
    expect(await s.append({ holder: 'a', action: 'after-release' }, got.token)).toMatchObject({ seq: 1 });
  });

  it('names a bad table name', () => {
    expect(() => new DynamoDbLeaseStore({ client: server.client(), tableName: '', clock: new ManualClock() })).toThrow(
      /tableName/,
    );
  });
});
