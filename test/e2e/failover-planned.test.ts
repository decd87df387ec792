// Failover end to end (issue 4, test 6): a planned handover. The active NAT of zone a gets
// a Spot interruption warning; its agent reads it from IMDS and announces the handover in
// its heartbeats; the leader moves the floating ENI to the standby while the interrupted
// instance still runs (it would stop two minutes after the warning). App host a streams
// UDP probes through the handover (lab/outage.ts): the outage it sees is printed, not
// asserted. Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outageOf, startOutageStreams } from '../../lab/outage.js';
import { FailoverLab, INSTANT_REALISM, NO_REPLACEMENT, zoneLine } from '../support/failover-lab.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkp${randomBytes(2).toString('hex')}-`;
const STREAM_MS = 8_000;

describe.skipIf(skipE2e)(suiteName('planned handover on a Spot interruption warning, in the lab (root)'), () => {
  let fl: FailoverLab;

  beforeAll(async () => {
    fl = await FailoverLab.start({
      prefix: PREFIX,
      topology: [
        INSTANT_REALISM,
        NO_REPLACEMENT,
        'zones:',
        zoneLine(0, 2),
      ].join('\n'),
      // IMDS read every 200 ms: the notice is seen within a fraction of a second.
      agentOverrides: { verdict: { minStableMs: 2_000 }, controller: { resyncMs: 2_000 }, imds: { pollIntervalMs: 200 }, handover: { drainTimeoutMs: 10_000 } },
      leaderFirst: 'nat-a2',
    });
  }, 120_000);

  afterAll(() => fl?.close(), 60_000);

  it('6. Spot interruption warning on zone a’s active NAT: eni-move to the standby before the instance stops; outage measured', async () => {
    const a = fl.zone('a');
    const [a1, a2] = a.natInstanceIds as [string, string];
    const app = a.appInstanceIds[0]!;
    const eni = () => fl.lab.store.networkInterfaces.get(a.floatingEniId!)!;
    expect(eni().attachment?.instanceId).toBe(a1);
    const home = await until('app-a egress', () => fl.egressOf(app), 10_000);
    const { echoTargets, echoPort } = fl.topology.internet;

    const streams = startOutageStreams(fl.dp(), { apps: [app], target: echoTargets[0]!, port: echoPort, durationMs: STREAM_MS });
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      await fl.lab.chaos.run({ verb: 'spot-interrupt', instance: a1, action: 'stop' });
      const warnedAt = Date.now();
      await until('eni-a attached to the standby', () => eni().attachment?.instanceId === a2 && eni().attachment?.status === 'attached', STREAM_MS - 2_000).catch((e: unknown) => fl.explain(e));
      const movedMs = Date.now() - warnedAt;
      // Egress moved while the interrupted instance still runs.
      expect(fl.lab.store.instances.get(a1)?.state).toBe('running');
      expect(fl.zoneVia('a')).toEqual(a.privateRouteTableIds.map(() => a2));
      const outage = outageOf((await streams.done).get(app));
      expect(outage).toBeLessThan(Number.POSITIVE_INFINITY);
      expect(await until('app-a egress after the handover', () => fl.egressOf(app), 10_000)).toBe(home);
      const d = (await fl.decisions())[0]!;
      expect(d).toMatchObject({ action: 'handover', detail: { zone: 'a', strategy: 'eni-move', via: a2 } });
      console.log(`planned handover: eni-a on the standby ${movedMs} ms after the Spot warning (instance still running); app-a's longest gap over the handover ${outage} ms (target ≤ 100 ms)`);
    } finally {
      streams.abort();
    }
  }, 60_000);
});
