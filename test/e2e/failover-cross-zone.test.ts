// Failover end to end (issue 4, test 2): zone b's only NAT is hard-killed. Nothing in
// zone b can take over, so the leader points zone b's route tables at zone a's NAT
// (route-replace, cross-zone). The Auto Scaling group replaces the dead node; the test
// starts an agent on the replacement as user-data would on AWS. Once the replacement has
// been healthy for failbackAfterMs, zone b's egress comes home: its floating ENI on the
// replacement, its tables back on it, the internet seeing zone b's EIP again — in no more
// than two transitions (failover, failback).
// Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverLab, INSTANT_REALISM, zoneLine } from '../support/failover-lab.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkx${randomBytes(2).toString('hex')}-`;
const FAILBACK_AFTER_MS = 5_000;
const TRANSITIONS = new Set(['failover', 'failback', 'handover']);

describe.skipIf(skipE2e)(suiteName('cross-zone failover and failback in the lab (root)'), () => {
  let fl: FailoverLab;

  beforeAll(async () => {
    fl = await FailoverLab.start({
      prefix: PREFIX,
      topology: [
        INSTANT_REALISM,
        'autoScaling: { replacementDelayMs: 3000 }',
        'zones:',
        zoneLine(0, 1),
        zoneLine(1, 1, 1),
      ].join('\n'),
      agentOverrides: {
        verdict: { minStableMs: 2_000 },
        controller: { resyncMs: 2_000, failbackAfterMs: FAILBACK_AFTER_MS },
        handover: { drainTimeoutMs: 2_000 },
        // Zone a's agent finds the replacement within 2 s (default 30 s).
        peers: { mode: 'discover', refreshMs: 2_000 },
      },
      // The leader lives in zone a: the test is about zone b's egress, not about a new election.
      leaderFirst: 'nat-a1',
    });
  }, 120_000);

  afterAll(() => fl?.close(), 60_000);

  it('2. hard kill of zone b’s only NAT: route-replace to zone a, the ASG replaces it, failback after failbackAfterMs, ≤ 2 transitions', async () => {
    const b = fl.zone('b');
    const [a1] = fl.zone('a').natInstanceIds as [string];
    const [b1] = b.natInstanceIds as [string];
    const app = b.appInstanceIds[0]!;
    const eniB = () => fl.lab.store.networkInterfaces.get(b.floatingEniId!)!;
    expect(fl.zoneVia('b')).toEqual(b.privateRouteTableIds.map(() => b1));
    const home = await until('app-b egress through zone b’s floating ENI', () => fl.egressOf(app), 30_000);
    const log0 = (await fl.decisions()).length;

    await fl.lab.chaos.run({ verb: 'kill', instance: b1 });
    const killedAt = Date.now();
    await until('zone b’s tables through zone a’s NAT', () => fl.zoneVia('b').every((v) => v === a1), 20_000).catch((e: unknown) => fl.explain(e));
    // Egress answers again, leaving by zone a's address (the kernel follows the API within milliseconds).
    await until('app-b egress through zone a', async () => ((await fl.egressOf(app)) ?? home) !== home, 10_000);
    const failoverMs = Date.now() - killedAt;
    const failover = (await fl.decisions())[0]!;
    expect(failover).toMatchObject({ action: 'failover', detail: { zone: 'b', strategy: 'route-replace', via: a1 } });

    // The ASG replaces the dead node; an agent starts on the replacement (user-data on AWS).
    const b2 = await until('a replacement NAT in zone b', () => fl.nats().find((id) => id !== b1 && fl.lab.store.instances.get(id)?.tags.some((t) => t.key === 'natkeeper:zone' && t.value === 'b')), 30_000);
    const launchedAt = Date.now();
    await fl.spawnWhenReady(b2);
    await fl.waitAllHealthy(30_000);
    const healthyAt = Date.now();

    await until('zone b’s egress back on the replacement', () => eniB().attachment?.instanceId === b2 && eniB().attachment?.status === 'attached' && fl.zoneVia('b').every((v) => v === b2), FAILBACK_AFTER_MS + 20_000).catch((e: unknown) => fl.explain(e));
    // The floating ENI keeps zone b's EIP: the internet sees the same address as before the kill.
    await until('app-b egress as zone b’s EIP again', async () => (await fl.egressOf(app)) === home, 10_000);
    const failbackAt = Date.now();
    expect(b.privateRouteTableIds.map((t) => fl.routeOf(t).target)).toEqual(b.privateRouteTableIds.map(() => b.floatingEniId));

    // A while longer, for any flap after the failback to show in the log.
    await new Promise((r) => setTimeout(r, 3_000));
    const all = await fl.decisions();
    const zoneB = all.slice(0, all.length - log0).filter((r) => TRANSITIONS.has(r.action) && r.detail?.['zone'] === 'b');
    // Two transitions, newest first: the failover, then the failback once the replacement had been healthy for failbackAfterMs.
    expect(zoneB.map((r) => r.action)).toEqual(['failback', 'failover']);
    expect(zoneB[0]).toMatchObject({ detail: { zone: 'b', strategy: 'eni-move', via: b2 } });
    expect(zoneB[0]!.at - zoneB[1]!.at).toBeGreaterThanOrEqual(FAILBACK_AFTER_MS);
    expect(eniB().attachment?.instanceId).toBe(b2);
    console.log(
      `cross-zone: kill → egress via zone a ${failoverMs} ms; replacement launched ${launchedAt - killedAt} ms after the kill, healthy in every agent's view ${healthyAt - launchedAt} ms later; ` +
        `failback (ENI on the replacement, egress as zone b's EIP) ${failbackAt - healthyAt} ms after that (failbackAfterMs ${FAILBACK_AFTER_MS}); zone b transitions: ${zoneB.length}`,
    );
  }, 120_000);
});
