// The etcd lease store against Debian's etcd (/usr/bin/etcd) started on loopback by
// the test (see test/support/etcd-server.ts). etcd's expiry is its own, in whole
// seconds: the suite uses 1 s leases and waits for the server to drop the key.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../src/domain/ports/lease-store.js';
import { systemClock } from '../../src/lease/clock.js';
import { EtcdLeaseStore } from '../../src/lease/etcd.js';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { leaseContract } from '../support/lease-contract.js';

const skip = etcdSkipReason();
const TTL = 1000;

async function waitFree(store: LeaseStore, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await store.current()) !== null) {
    if (Date.now() > deadline) throw new Error('etcd did not expire the lease in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(skip !== undefined)(`etcd lease store${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  leaseContract('etcd', async () => {
    const server = await startEtcd();
    let n = 0;
    return {
      async lease(participants) {
        const prefix = `natkeeper/test/lease-${++n}`;
        return Array.from(
          { length: participants },
          () => new EtcdLeaseStore({ endpoint: server.endpoint, prefix, clock: systemClock }),
        );
      },
      now: () => systemClock.now(),
      ttlMs: TTL,
      toleranceMs: 50,
      expire: (store) => waitFree(store),
      close: () => server.stop(),
    };
  });

  describe('etcd specifics', () => {
    let server: EtcdServer;
    beforeAll(async () => {
      server = await startEtcd();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('keeps a renewed lease alive past its ttl, and the server frees it after the holder stops', async () => {
      const store = new EtcdLeaseStore({ endpoint: server.endpoint, prefix: 'natkeeper/test/keepalive', clock: systemClock });
      const got = await store.acquire('a', TTL);
      if (!got.held) throw new Error('not held');
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(await store.renew('a', got.token)).toMatchObject({ held: true, token: got.token });
      }
      expect(await store.current()).toMatchObject({ holder: 'a', token: got.token });
      await waitFree(store);
      expect(await store.renew('a', got.token)).toMatchObject({ held: false, reason: 'expired' });
    });

    it('reports a server that does not answer as an error, not as a lost lease', async () => {
      const store = new EtcdLeaseStore({ endpoint: 'http://127.0.0.1:1', clock: systemClock, requestTimeoutMs: 500 });
      await expect(store.acquire('a', TTL)).rejects.toThrow();
    });

    it('stops etcd and removes its data dir', async () => {
      const other = await startEtcd();
      const { pid, dataDir } = other;
      expect(existsSync(dataDir)).toBe(true);
      await other.stop();
      expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(dataDir)).toBe(false);
    });
  });
});
