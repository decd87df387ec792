// Failover end to end (issue 4, test 4): faults that are not a NAT's fault move nothing.
// (a) Every probe target goes down for everyone: the verdicts go internet-unreachable,
//     never unhealthy, and the controller makes no mutating EC2 call.
// (b) Heartbeats between two healthy NATs of a zone are cut (chaos partition drops traffic
//     between the two instances' own addresses; traffic they forward, including the peer
//     probes through each other, still passes): no failover within the observation window.
// Each checks the lab API's request log, the decision log, and the routes and ENI
// attachments themselves. Traffic stays inside the lab's namespaces.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatus, verdictOf } from '../../lab/agents.js';
import { FailoverLab, INSTANT_REALISM, NO_REPLACEMENT, zoneLine } from '../support/failover-lab.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkn${randomBytes(2).toString('hex')}-`;
/** How long the controller gets to (wrongly) act once a fault is in place. */
const OBSERVE_MS = 12_000;

describe.skipIf(skipE2e)(suiteName('no failover without a NAT fault, in the lab (root)'), () => {
  let fl: FailoverLab;

  beforeAll(async () => {
    fl = await FailoverLab.start({
      prefix: PREFIX,
      topology: [
        INSTANT_REALISM,
        NO_REPLACEMENT,
        'zones:',
        zoneLine(0, 2),
        zoneLine(1, 1),
      ].join('\n'),
      agentOverrides: { verdict: { minStableMs: 2_000 }, controller: { resyncMs: 2_000, failbackAfterMs: 5_000 } },
    });
  }, 120_000);

  afterAll(() => fl?.close(), 60_000);

  /** Every route table's default route and every ENI's attachment, as EC2 has them. */
  const egressState = () => ({
    routes: fl.lab.store.routeTables.values().map((t) => [t.routeTableId, fl.routeOf(t.routeTableId).target] as const),
    enis: fl.lab.store.networkInterfaces.values().map((e) => [e.networkInterfaceId, e.attachment?.instanceId] as const),
  });
  /** Nothing moved since `since`: no mutating EC2 call by anyone, no new decision, routes and ENIs as they were. */
  const expectNothingMoved = async (since: number, before: ReturnType<typeof egressState>, decisions0: number) => {
    expect(fl.mutatingCalls({ since }).map((e) => `${e.action} by ${e.accessKeyId}`)).toEqual([]);
    expect((await fl.decisions()).length).toBe(decisions0);
    expect(egressState()).toEqual(before);
  };

  it('4a. every probe target down for everyone: verdicts internet-unreachable, not unhealthy; no failover', async () => {
    const nats = fl.nats();
    const before = egressState();
    const decisions0 = (await fl.decisions()).length;
    const since = Date.now();
    const seen = new Set<string>();
    const sample = async () => {
      const ss = await Promise.all(fl.live().map((a) => agentStatus(fl.dp(), a)));
      for (const s of ss) for (const n of nats) seen.add(verdictOf(s, n)?.state ?? 'none');
      return ss;
    };
    try {
      for (const ip of fl.topology.internet.echoTargets) await fl.lab.chaos.run({ verb: 'target-down', ip });
      await until(
        'every agent sees every NAT internet-unreachable',
        async () => (await sample()).every((s) => nats.every((n) => verdictOf(s, n)?.state === 'internet-unreachable')),
        15_000,
      ).catch((e: unknown) => fl.explain(e));
      const reachedMs = Date.now() - since;
      // The controller wakes on verdict transitions; give it time to act, were it to.
      const end = Date.now() + 4_000;
      while (Date.now() < end) await sample();
      expect([...seen]).not.toContain('unhealthy');
      await expectNothingMoved(since, before, decisions0);
      console.log(`targets down: every verdict internet-unreachable after ${reachedMs} ms; states seen: ${[...seen].join(', ')}; mutating calls: 0`);
    } finally {
      for (const ip of fl.topology.internet.echoTargets) await fl.lab.chaos.run({ verb: 'target-up', ip });
    }
    await fl.waitAllHealthy(30_000);
    await expectNothingMoved(since, before, decisions0);
  }, 90_000);

  it('4b. heartbeats cut between two healthy NATs of a zone: no failover', async () => {
    const [a1, a2] = fl.zone('a').natInstanceIds as [string, string];
    const app = fl.zone('a').appInstanceIds[0]!;
    const home = await until('app-a egress', () => fl.egressOf(app), 10_000);
    const before = egressState();
    const decisions0 = (await fl.decisions()).length;
    const since = Date.now();
    let lostSeen = false;
    try {
      await fl.lab.chaos.run({ verb: 'partition', a: a1, b: a2 });
      const end = Date.now() + OBSERVE_MS;
      while (Date.now() < end) {
        // The fault bites: each of the two reports the other's heartbeats lost.
        const ss = await Promise.all([a1, a2].map((id) => agentStatus(fl.dp(), fl.agentOf(id)!)));
        if (ss[0]!.peers.find((p) => p.id === a2)?.lost && ss[1]!.peers.find((p) => p.id === a1)?.lost) lostSeen = true;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(lostSeen).toBe(true);
      await expectNothingMoved(since, before, decisions0);
      expect(await fl.egressOf(app)).toBe(home);
      console.log(`partition ${a1} ↔ ${a2}: heartbeats lost both ways, ${OBSERVE_MS} ms without a mutating call; egress unchanged`);
    } finally {
      await fl.lab.chaos.run({ verb: 'heal', a: a1, b: a2 });
    }
  }, 60_000);
});
