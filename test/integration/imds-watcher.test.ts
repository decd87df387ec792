// The IMDS watcher against the lab's real IMDS handler, served for one instance
// on 127.0.0.1, with notices given through the lab's NoticeBoard.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lab/emulator/clock.js';
import { NoticeBoard } from '../../lab/emulator/events/notices.js';
import { createImdsHandler } from '../../lab/emulator/imds/handler.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { ImdsClient } from '../../src/aws/imds.js';
import { ImdsWatcher } from '../../src/aws/imds-watcher.js';
import type { PlannedHandoverSignal } from '../../src/domain/signals.js';
import { until } from '../support/async.js';

let store: LabStore;
let notices: NoticeBoard;
let server: Server;
let baseUrl: string;
let instanceId: string;

beforeAll(async () => {
  const built = buildLab(topologySchema.parse({}), systemClock);
  store = built.store;
  instanceId = built.manifest.zones[0]!.natInstanceIds[0]!;
  notices = new NoticeBoard({ store });
  const handler = createImdsHandler({ store, notices });
  server = createServer((req, res) => handler(instanceId, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  notices?.stop();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  store?.dispose();
});

describe('ImdsWatcher against the lab IMDS', () => {
  it('turns a rebalance recommendation and a Spot interruption into one signal each', async () => {
    const signals: PlannedHandoverSignal[] = [];
    const watcher = new ImdsWatcher({ imds: new ImdsClient({ baseUrl }), node: instanceId, intervalMs: 50, onSignal: (s) => signals.push(s) });
    watcher.start();
    try {
      await until('three polls', () => (watcher.stats.polls >= 3 ? true : undefined));
      expect(signals).toEqual([]);

      notices.rebalance(instanceId);
      await until('the rebalance signal', () => signals.find((s) => s.cause === 'rebalance-recommendation'));

      const spot = notices.spotInterrupt(instanceId);
      const sig = await until('the spot signal', () => signals.find((s) => s.cause === 'spot-instance-action'));
      // IMDS shows the time to the second.
      expect(sig).toMatchObject({ kind: 'planned-handover', node: instanceId });
      expect(Math.abs(sig.deadline! - spot.at)).toBeLessThan(1000);
      expect(sig.deadline! - sig.at).toBeGreaterThan(100_000);

      const polls = watcher.stats.polls;
      await until('more polls', () => (watcher.stats.polls >= polls + 5 ? true : undefined));
      expect(signals.map((s) => s.cause)).toEqual(['rebalance-recommendation', 'spot-instance-action']);
      expect(watcher.stats.errors).toBe(0);
    } finally {
      await watcher.stop();
    }
  });

  it('counts errors while IMDS is unreachable and never throws', async () => {
    const watcher = new ImdsWatcher({
      imds: new ImdsClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 200 }),
      node: instanceId,
      intervalMs: 20,
      onSignal: () => {},
    });
    watcher.start();
    await until('errors', () => (watcher.stats.errors >= 4 ? true : undefined));
    await watcher.stop();
    expect(watcher.stats.signals).toBe(0);
  });
});
