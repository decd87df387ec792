// Failover end to end (issue 4, test 5): fencing. The leader is frozen (SIGSTOP) in the
// middle of a failover — zone b's only NAT was killed, the leader logged its decision and
// has the first ReplaceRoute calls of zone b's ten tables in flight (the lab's API holds
// them for a few seconds), the rest still to send. While it is frozen its lease lapses;
// another agent takes the lease with a higher fencing token and completes the failover.
// Then the old leader is thawed: its stale plan still has calls to send, and it must send
// none (the lab API's request log names the caller of every call, by instance), stopping
// with fenced_out instead. Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverLab, INSTANT_REALISM, NO_REPLACEMENT, zoneLine } from '../support/failover-lab.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkk${randomBytes(2).toString('hex')}-`;
/** ReplaceRoute answers this late, so the leader is frozen with calls in flight and calls still to make. */
const REPLACE_ROUTE_MS = 4_000;
/** How long the thawed leader is watched. */
const AFTER_THAW_MS = 6_000;
const AGENT_PROCESS = 'main\\.js agent';

describe.skipIf(skipE2e)(suiteName('fencing: a frozen leader thawed after its lease lapsed makes no call (root)'), () => {
  let fl: FailoverLab;

  beforeAll(async () => {
    fl = await FailoverLab.start({
      prefix: PREFIX,
      topology: [
        INSTANT_REALISM,
        NO_REPLACEMENT,
        'zones:',
        zoneLine(0, 2),
        // Ten tables: more than the executor's 8 concurrent route replaces, so some wait for the first.
        zoneLine(1, 1, 9),
      ].join('\n'),
      agentOverrides: { verdict: { minStableMs: 2_000 }, controller: { resyncMs: 2_000, failbackAfterMs: 600_000 } },
      // The leader is zone a's standby: a NAT that carries egress hands the lease to one that carries none.
      leaderFirst: 'nat-a2',
    });
  }, 120_000);

  afterAll(async () => {
    await fl?.lab.chaos.run({ verb: 'api-latency', action: 'ReplaceRoute', ms: 0 }).catch(() => undefined);
    await fl?.close();
  }, 60_000);

  it('5. leader frozen mid-failover past its lease: a new leader (higher token) completes it; thawed, the old one makes zero mutating calls', async () => {
    const [a1, a2] = fl.zone('a').natInstanceIds as [string, string];
    const [b1] = fl.zone('b').natInstanceIds as [string];
    const b = fl.zone('b');
    const old = fl.agentOf(a2)!;
    const lease0 = await fl.leader();
    expect(lease0.holder).toBe(a2);
    const decisionEvents = () => old.log.join('').split('\n').filter((l) => l.includes('"event":"decision"'));
    const fencedEvents = () => old.log.join('').split('\n').filter((l) => l.includes('"event":"fenced_out"'));

    await fl.lab.chaos.run({ verb: 'api-latency', action: 'ReplaceRoute', ms: REPLACE_ROUTE_MS });
    await fl.lab.chaos.run({ verb: 'kill', instance: b1 });
    // The leader decided and started calling: freeze it with calls in flight.
    await until('the leader’s decision for zone b', () => decisionEvents().some((l) => l.includes('"zone":"b"')), 15_000).catch((e: unknown) => fl.explain(e));
    await new Promise((r) => setTimeout(r, 500));
    await fl.lab.chaos.run({ verb: 'freeze', instance: a2, process: AGENT_PROCESS });
    const frozenAt = Date.now();

    // A new leader, with a higher fencing token, completes zone b's failover.
    const next = await until('a new lease holder with a higher token', async () => {
      const l = await fl.leader();
      return l.holder !== a2 && l.token > lease0.token ? l : undefined;
    }, 20_000).catch((e: unknown) => fl.explain(e));
    expect(next.holder).toBe(a1);
    // Its decision is in the log with its token, and zone b's tables all go where it decided.
    const taken = await until('the new leader’s decision for zone b, carried out', async () => {
      const d = (await fl.decisions()).find((r) => r.detail?.['zone'] === 'b');
      const via = d?.holder === a1 && d.token === next.token ? (d.detail?.['via'] as string) : undefined;
      return via && fl.mutatingCalls({ since: frozenAt, by: a1 }).length > 0 && fl.zoneVia('b').every((v) => v === via) ? via : undefined;
    }, 30_000).catch((e: unknown) => fl.explain(e));
    const tookOverMs = Date.now() - frozenAt;

    await fl.lab.chaos.run({ verb: 'thaw', instance: a2, process: AGENT_PROCESS });
    const thawAt = Date.now();
    await new Promise((r) => setTimeout(r, AFTER_THAW_MS));

    const before = fl.mutatingCalls({ by: a2 }).filter((e) => e.time < frozenAt && e.action === 'ReplaceRoute');
    const after = fl.mutatingCalls({ since: thawAt, by: a2 });
    const oldLog = () => old.log.join('').split('\n').filter((l) => /"event":"(decision|cycle_acted|fenced_out|zone_action_failed|leader_[a-z]+|lease_[a-z]+|verify_failed)"/.test(l)).join('\n');
    // The request log does tell the old leader's calls apart (its setup's calls at least).
    expect(fl.mutatingCalls({ by: a2 }).length).toBeGreaterThan(0);
    expect(after.map((e) => `${e.action} at thaw+${e.time - thawAt} ms ${JSON.stringify(e.params)}`), `the thawed leader's calls; its log:\n${oldLog()}`).toEqual([]);
    // Its stale plan had work left: it stopped on the fence.
    expect(fencedEvents().length, oldLog()).toBeGreaterThan(0);

    // The decision log: the old leader's decision with its token, the new leader's with a higher one, nothing after the thaw from the old.
    const log = (await fl.decisions()).filter((r) => r.detail?.['zone'] === 'b');
    expect(log.find((r) => r.holder === a2)?.token).toBe(lease0.token);
    expect(log.find((r) => r.holder === a1)?.token).toBe(next.token);
    expect(log.filter((r) => r.holder === a2 && r.at >= thawAt)).toEqual([]);
    // Zone b ends on the healthy NAT, with egress working.
    expect([a1, a2]).toContain(taken);
    expect(fl.zoneVia('b')).toEqual(b.privateRouteTableIds.map(() => taken));
    expect(await until('app-b egress', () => fl.egressOf(b.appInstanceIds[0]!), 10_000)).toBeDefined();
    console.log(
      `fencing: old leader ${a2} (token ${lease0.token}) frozen with ${before.length} of zone b's ${b.privateRouteTableIds.length} route replaces sent; ${a1} took over with token ${next.token} and finished ${tookOverMs} ms after the freeze; ` +
        `after the thaw the old leader fenced out and made ${after.length} mutating calls in ${AFTER_THAW_MS} ms`,
    );
  }, 120_000);
});
