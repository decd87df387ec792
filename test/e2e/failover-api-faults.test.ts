// Failover end to end (issue 4, test 7): the EC2 API misbehaves during a failover. Each
// mutating action's bucket (EC2 throttles per action) holds a single token refilled every
// 2 s, so of the failover's three ReplaceRoute calls the later ones are refused with
// RequestLimitExceeded; describes get a small bucket too; and 5% of all calls fail with an
// injected InternalError (chaos api-errors 0.05). A hard kill of zone b's only NAT still
// ends with every one of zone b's tables through a healthy NAT of zone a (none left
// behind, no blackhole) and zone b's egress working.
// Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverLab, INSTANT_REALISM, NO_REPLACEMENT, zoneLine } from '../support/failover-lab.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nke${randomBytes(2).toString('hex')}-`;

describe.skipIf(skipE2e)(suiteName('failover under API throttling and injected errors, in the lab (root)'), () => {
  let fl: FailoverLab;

  beforeAll(async () => {
    fl = await FailoverLab.start({
      prefix: PREFIX,
      topology: [
        INSTANT_REALISM.replace(/ }$/, ', throttling: { mutating: { burst: 1, refillPerSecond: 0.5 }, nonMutating: { burst: 5, refillPerSecond: 5 } } }'),
        NO_REPLACEMENT,
        'zones:',
        zoneLine(0, 2),
        zoneLine(1, 1, 2),
      ].join('\n'),
      agentOverrides: { verdict: { minStableMs: 2_000 }, controller: { resyncMs: 2_000 } },
      leaderFirst: 'nat-a2',
    });
  }, 120_000);

  afterAll(async () => {
    await fl?.lab.chaos.run({ verb: 'api-errors', rate: 0 }).catch(() => undefined);
    await fl?.close();
  }, 60_000);

  it('7. hard kill under throttling (RequestLimitExceeded) and 5% API errors: still fails over, final state correct', async () => {
    const b = fl.zone('b');
    const [b1] = b.natInstanceIds as [string];
    const zoneA = new Set(fl.zone('a').natInstanceIds);
    const app = b.appInstanceIds[0]!;
    const home = await until('app-b egress', () => fl.egressOf(app), 10_000);

    await fl.lab.chaos.run({ verb: 'api-errors', rate: 0.05 });
    const since = Date.now();
    await fl.lab.chaos.run({ verb: 'kill', instance: b1 });
    const via = await until(
      'every table of zone b through one NAT of zone a',
      () => {
        const vs = new Set(fl.zoneVia('b'));
        const [v] = [...vs];
        return vs.size === 1 && v && zoneA.has(v) ? v : undefined;
      },
      45_000,
    ).catch((e: unknown) => fl.explain(e));
    const movedMs = Date.now() - since;
    await until('app-b egress through zone a', async () => ((await fl.egressOf(app)) ?? home) !== home, 10_000);
    const egressMs = Date.now() - since;

    const calls = fl.lab.api.requestLog.entries().filter((e) => e.time >= since);
    const throttled = calls.filter((e) => e.errorCode === 'RequestLimitExceeded');
    const injected = calls.filter((e) => e.errorCode === 'InternalError');
    // The fault did bite: the failover's route replaces met the throttle.
    expect(throttled.filter((e) => e.action === 'ReplaceRoute').length).toBeGreaterThan(0);
    // Nothing left half-done: every table points at the chosen NAT, which runs; none is a blackhole.
    expect(fl.lab.store.instances.get(via)?.state).toBe('running');
    expect(fl.zoneVia('b')).toEqual(b.privateRouteTableIds.map(() => via));
    const d = (await fl.decisions()).find((r) => r.detail?.['zone'] === 'b');
    expect(d).toMatchObject({ action: 'failover', detail: { zone: 'b', strategy: 'route-replace', via } });
    console.log(
      `API faults: zone b's ${b.privateRouteTableIds.length} tables through zone a ${movedMs} ms after the kill, egress back ${egressMs} ms; ${calls.length} calls since the kill, ` +
        `${throttled.length} throttled (${throttled.filter((e) => e.mutating).length} mutating), ${injected.length} injected InternalError`,
    );
  }, 90_000);
});
