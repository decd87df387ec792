import { describe, expect, it } from 'vitest';
import { createVerdictTracker, type VerdictPolicyInput } from '../../src/domain/verdict/index.js';
import type { Vantage } from '../../src/domain/signals.js';
import { allPass, at, run, seeded, states, TARGETS, vantagesOf, type Outcome } from './verdict-sim.js';

const WARM_UP = 60; // 12 s: past the 10 s minimum stable time with 5 passes in a row.

function warm(nodes: string[], policy: VerdictPolicyInput = {}) {
  const sim = { tracker: createVerdictTracker(policy), nodes };
  run(sim, 0, WARM_UP, allPass);
  expect(Object.values(states(sim.tracker, at(WARM_UP - 1)))).toEqual(nodes.map(() => 'healthy'));
  return sim;
}

const hung =
  (node: string, from: number, until = Infinity): Outcome =>
  (n, _t, _v, round) =>
    !(n === node && round >= from && round < until);

describe('verdicts: detection', () => {
  it.each([
    ['two nodes', ['a', 'b']],
    ['three nodes', ['a', 'b', 'c']],
  ])('a hung NAT (%s) is unhealthy after s = 4 straight failing rounds from two vantages; peers stay healthy', (_name, nodes) => {
    const sim = warm(nodes);
    const fault = WARM_UP + 10;
    const ts = run(sim, WARM_UP, fault + 100, hung('a', fault));
    expect(ts).toHaveLength(1);
    expect(ts[0]).toMatchObject({ node: 'a', from: 'healthy', to: 'unhealthy', code: 'probes-failing', at: at(fault + 3) });
    expect(ts[0]?.reason).toContain('self last 4 failed');
    expect(states(sim.tracker, at(fault + 100))).toEqual({ ...Object.fromEntries(nodes.map((n) => [n, 'healthy'])), a: 'unhealthy' });
  });

  it('with the straight-failure path off, k = 7 failures of the last n = 10 from two vantages', () => {
    const sim = warm(['a', 'b'], { failStreakToFail: 0 });
    const fault = WARM_UP + 10;
    const ts = run(sim, WARM_UP, fault + 100, hung('a', fault));
    expect(ts).toHaveLength(1);
    expect(ts[0]).toMatchObject({ node: 'a', to: 'unhealthy', code: 'probes-failing', at: at(fault + 6) });
    expect(ts[0]?.reason).toContain('self 7/10');
  });

  it('straight failures are not pinned on a node while no other node’s last 4 pass (the start of an internet outage, one round apart)', () => {
    const sim = warm(['a', 'b']);
    const fault = WARM_UP + 10;
    // a fails from round fault, b one round later: b never has 4 passes in a row after a's 4th failure.
    const ts = run(sim, WARM_UP, fault + 5, (n, _t, _v, r) => r < (n === 'a' ? fault : fault + 1));
    expect(ts.filter((t) => t.to === 'unhealthy')).toEqual([]);
  });

  it('a node failing only from its own vantage is not confirmed (needs two vantages)', () => {
    const sim = warm(['a', 'b']);
    const ts = run(sim, WARM_UP, WARM_UP + 200, (n, _t, v) => !(n === 'a' && v === 'self'));
    expect(ts).toEqual([]);
  });

  it('EC2 state not running is unhealthy at once, and probes about the stopped node are ignored', () => {
    const sim = warm(['a', 'b']);
    const stopAt = at(WARM_UP) + 50;
    const ts = sim.tracker.observe({ kind: 'ec2-state', node: 'b', state: 'stopping', at: stopAt });
    expect(ts).toEqual([{ node: 'b', from: 'healthy', to: 'unhealthy', code: 'ec2-not-running', reason: 'EC2 state is stopping', at: stopAt }]);
    expect(run(sim, WARM_UP + 1, WARM_UP + 100, allPass)).toEqual([]);
    expect(sim.tracker.verdicts(at(WARM_UP + 100)).find((v) => v.node === 'b')).toMatchObject({ state: 'unhealthy', since: stopAt });
  });

  it.each(['pending', 'stopped', 'shutting-down', 'terminated'] as const)('EC2 state %s is unhealthy for an unknown node too', (state) => {
    const tracker = createVerdictTracker();
    expect(tracker.observe({ kind: 'ec2-state', node: 'x', state, at: 5 })).toMatchObject([{ from: 'unknown', to: 'unhealthy' }]);
  });
});

describe('verdicts: no false positives', () => {
  const cases: [string, Outcome][] = [
    ['one of three targets down for everyone', (_n, t) => t !== 't2'],
    ['one of three targets down from one node only', (n, t) => !(n === 'a' && t === 't2')],
  ];
  it.each(cases)('%s: nobody turns unhealthy', (_name, outcome) => {
    const sim = warm(['a', 'b', 'c']);
    expect(run(sim, WARM_UP, WARM_UP + 3000, outcome)).toEqual([]);
  });

  it.each([
    ['20% loss on one target', (t: string) => (t === 't1' ? 0.2 : 0)],
    ['20% loss on every target', () => 0.2],
  ])('%s for 10 minutes (seeded): zero transitions after warm-up', (_name, lossOf) => {
    for (const seed of [1, 2, 3]) {
      const rand = seeded(seed);
      const sim = { tracker: createVerdictTracker(), nodes: ['a', 'b', 'c'] };
      const loss: Outcome = (_n, t) => rand() >= lossOf(t);
      const all = run(sim, 0, 3000, loss);
      expect(all.filter((t) => t.to !== 'healthy')).toEqual([]);
      expect(all.map((t) => [t.node, t.from, t.to]).sort()).toEqual([
        ['a', 'unknown', 'healthy'],
        ['b', 'unknown', 'healthy'],
        ['c', 'unknown', 'healthy'],
      ]);
    }
  });

  it('heartbeat loss alone changes nothing', () => {
    const sim = warm(['a', 'b']);
    const now = at(WARM_UP - 1);
    const before = sim.tracker.verdicts(now);
    const count = sim.tracker.transitions().length;
    for (let seq = 0; seq < 50; seq++) {
      expect(sim.tracker.observe({ kind: 'heartbeat-lost', from: 'b', seq, at: now })).toEqual([]);
      expect(sim.tracker.observe({ kind: 'heartbeat-received', from: 'a', seq, at: now })).toEqual([]);
    }
    expect(sim.tracker.verdicts(now)).toEqual(before);
    expect(sim.tracker.transitions()).toHaveLength(count);
    expect(createVerdictTracker().observe({ kind: 'heartbeat-lost', from: 'z', seq: 1, at: 1 })).toEqual([]);
  });

  it('a planned handover is reported but does not change the verdict', () => {
    const sim = warm(['a', 'b']);
    const now = at(WARM_UP - 1);
    expect(sim.tracker.observe({ kind: 'planned-handover', node: 'a', cause: 'spot-instance-action', at: now, deadline: now + 120_000 })).toEqual([]);
    expect(sim.tracker.verdicts(now).find((v) => v.node === 'a')).toMatchObject({
      state: 'healthy',
      handover: { cause: 'spot-instance-action', at: now, deadline: now + 120_000 },
    });
  });
});

describe('verdicts: silent and unreachable (a dead node)', () => {
  /** One round of probes about `node`: the given vantages, every target, all with outcome ok. Others pass. */
  const round = (sim: ReturnType<typeof warm>, r: number, node: string, vantages: Vantage[], ok: boolean) => {
    const out = [];
    for (const n of sim.nodes)
      for (const target of TARGETS)
        for (const vantage of vantagesOf(n, sim.nodes)) {
          if (n === node && vantage === 'self') continue; // a dead node reports nothing
          const pass = n === node && vantages.includes(vantage) ? ok : true;
          out.push(...sim.tracker.observe({ kind: 'probe', node: n, target, vantage, ok: pass, latencyMs: 3, at: at(r) }));
        }
    return out;
  };

  it('heartbeats lost and the last 3 probes through it failing on every peer vantage: unhealthy at the third failure', () => {
    const sim = warm(['a', 'b', 'c']);
    expect(sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP) })).toEqual([]);
    expect(round(sim, WARM_UP + 1, 'a', ['peer:b', 'peer:c'], false)).toEqual([]);
    expect(round(sim, WARM_UP + 2, 'a', ['peer:b', 'peer:c'], false)).toEqual([]);
    const ts = round(sim, WARM_UP + 3, 'a', ['peer:b', 'peer:c'], false);
    expect(ts).toHaveLength(1);
    expect(ts[0]).toMatchObject({ node: 'a', from: 'healthy', to: 'unhealthy', code: 'silent-unreachable' });
    expect(ts[0]?.reason).toMatch(/heartbeats lost .* 2\/3 targets failing through it: t1 \(peer:b last 3 failed, peer:c last 3 failed\); t2/);
  });

  it('one peer vantage still passing through the node blocks it (that peer proves the node forwards)', () => {
    const sim = warm(['a', 'b', 'c']);
    sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP) });
    for (let r = 1; r <= 8; r++) expect(round(sim, WARM_UP + r, 'a', ['peer:b'], false)).toEqual([]);
  });

  it('the same failures without heartbeat loss, or after heartbeats resumed, are not enough', () => {
    const sim = warm(['a', 'b']);
    for (let r = 1; r <= 4; r++) expect(round(sim, WARM_UP + r, 'a', ['peer:b'], false)).toEqual([]);
    sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP + 4) });
    sim.tracker.observe({ kind: 'heartbeat-received', from: 'a', seq: 10, at: at(WARM_UP + 4) + 50 });
    expect(round(sim, WARM_UP + 5, 'a', ['peer:b'], false)).toEqual([]);
  });

  it('silence while probes through the node pass (heartbeat port cut) changes nothing', () => {
    const sim = warm(['a', 'b']);
    sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP) });
    for (let r = 1; r <= 20; r++) expect(round(sim, WARM_UP + r, 'a', ['peer:b'], true)).toEqual([]);
  });

  it('targets down for everyone while a node is silent: nobody blamed', () => {
    const sim = warm(['a', 'b']);
    sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP) });
    const ts = run(sim, WARM_UP + 1, WARM_UP + 20, () => false);
    expect(ts.filter((t) => t.to === 'unhealthy')).toEqual([]);
  });

  it('silentFailures 0 turns the fast path off; more than windowProbes is refused naming the field', () => {
    const sim = warm(['a', 'b'], { silentFailures: 0 });
    sim.tracker.observe({ kind: 'heartbeat-lost', from: 'a', seq: 9, at: at(WARM_UP) });
    for (let r = 1; r <= 5; r++) expect(round(sim, WARM_UP + r, 'a', ['peer:b'], false)).toEqual([]);
    expect(() => createVerdictTracker({ silentFailures: 11 })).toThrow(/silentFailures/);
  });
});

describe('verdicts: correlated failure', () => {
  it('all targets unreachable from all nodes: internet-unreachable for all, nobody blamed, then back', () => {
    const sim = warm(['a', 'b', 'c']);
    const down = WARM_UP + 10;
    const up = down + 100;
    const ts = run(sim, WARM_UP, up + 100, (_n, _t, _v, r) => r < down || r >= up);
    expect(ts.filter((t) => t.to === 'unhealthy')).toEqual([]);
    expect(ts.map((t) => [t.node, t.from, t.to])).toEqual([
      ['a', 'healthy', 'internet-unreachable'],
      ['b', 'healthy', 'internet-unreachable'],
      ['c', 'healthy', 'internet-unreachable'],
      ['a', 'internet-unreachable', 'healthy'],
      ['b', 'internet-unreachable', 'healthy'],
      ['c', 'internet-unreachable', 'healthy'],
    ]);
    expect(ts[0]?.at).toBe(at(down + 6));
  });

  it('agents lagging each other by up to 2 rounds at the start and end of an outage blame nobody', () => {
    // The tolerance is 2k − n = 4 results, and each round's results arrive one node after the other.
    const sim = warm(['a', 'b', 'c']);
    const lag: Record<string, number> = { a: 0, b: 1, c: 2 };
    const down = WARM_UP + 10;
    const up = down + 100;
    const ts = run(sim, WARM_UP, up + 100, (n, _t, _v, r) => r - (lag[n] ?? 0) < down || r - (lag[n] ?? 0) >= up);
    expect(ts.filter((t) => t.to === 'unhealthy')).toEqual([]);
    expect(states(sim.tracker, at(up + 100))).toEqual({ a: 'healthy', b: 'healthy', c: 'healthy' });
  });

  it('a node that was unhealthy before the outage is unhealthy again after it while it stays hung', () => {
    const sim = warm(['a', 'b']);
    const fault = WARM_UP;
    run(sim, WARM_UP, fault + 20, hung('a', fault));
    const down = fault + 20;
    const up = down + 50;
    const ts = run(sim, down, up + 50, (n, _t, _v, r) => n !== 'a' && (r < down || r >= up));
    expect(ts.map((t) => [t.node, t.from, t.to])).toEqual([
      ['a', 'unhealthy', 'internet-unreachable'],
      ['b', 'healthy', 'internet-unreachable'],
      ['a', 'internet-unreachable', 'unhealthy'],
      ['b', 'internet-unreachable', 'healthy'],
    ]);
  });
});

describe('verdicts: recovery with hysteresis', () => {
  it('healthy again only after the minimum stable time since the last failing evaluation', () => {
    const sim = warm(['a', 'b']);
    const fault = WARM_UP;
    const fixed = fault + 20;
    const ts = run(sim, WARM_UP, fixed + 100, hung('a', fault, fixed));
    // Windows stop failing at the 4th pass (10 − 4 = 6 < 7), so the last bad evaluation is round fixed + 3.
    expect(ts.map((t) => [t.to, t.at])).toEqual([
      ['unhealthy', at(fault + 3)],
      ['healthy', at(fixed + 3) + 10_000],
    ]);
  });

  it('with no minimum stable time, m = 5 consecutive passes are still required', () => {
    const sim = warm(['a', 'b'], { minStableMs: 0 });
    const fault = WARM_UP;
    const fixed = fault + 20;
    // One failed round after the 4th pass resets the streak.
    const blip = fixed + 4;
    const outcome: Outcome = (n, t, v, r) => hung('a', fault, fixed)(n, t, v, r) && !(n === 'a' && r === blip);
    const ts = run(sim, WARM_UP, fixed + 30, outcome);
    expect(ts.map((t) => [t.to, t.at])).toEqual([
      ['unhealthy', at(fault + 3)],
      ['healthy', at(blip + 5)],
    ]);
  });

  it('a restarted instance (stopped, then running) must prove itself again', () => {
    const sim = warm(['a', 'b']);
    sim.tracker.observe({ kind: 'ec2-state', node: 'a', state: 'stopped', at: at(WARM_UP) });
    sim.tracker.observe({ kind: 'ec2-state', node: 'a', state: 'running', at: at(WARM_UP + 5) });
    const ts = run(sim, WARM_UP + 5, WARM_UP + 100, allPass);
    expect(ts.map((t) => [t.node, t.to, t.at])).toEqual([['a', 'healthy', at(WARM_UP + 5) + 10_000]]);
  });

  it('a new node is unknown until it has passed m probes and been stable for the minimum time', () => {
    const sim = { tracker: createVerdictTracker(), nodes: ['a', 'b'] };
    run(sim, 0, 49, allPass);
    expect(states(sim.tracker, at(49))).toEqual({ a: 'unknown', b: 'unknown' });
    expect(run(sim, 50, 51, allPass).map((t) => [t.node, t.to, t.at])).toEqual([
      ['a', 'healthy', at(50)],
      ['b', 'healthy', at(50)],
    ]);
  });
});

describe('verdicts: bookkeeping', () => {
  it('transitions() keeps every event with node, from, to, reason and time; forget() drops a node', () => {
    const sim = warm(['a', 'b']);
    run(sim, WARM_UP, WARM_UP + 20, hung('b', WARM_UP));
    const history = sim.tracker.transitions();
    expect(history.map((t) => [t.node, t.from, t.to])).toEqual([
      ['a', 'unknown', 'healthy'],
      ['b', 'unknown', 'healthy'],
      ['b', 'healthy', 'unhealthy'],
    ]);
    for (const t of history) expect(t.reason.length).toBeGreaterThan(0);
    sim.tracker.forget('b');
    expect(sim.tracker.verdicts(at(WARM_UP + 20)).map((v) => v.node)).toEqual(['a']);
  });

  it('verdicts(now) applies time-based recovery without new probes, and never goes back in time', () => {
    const sim = { tracker: createVerdictTracker(), nodes: ['a', 'b'] };
    run(sim, 0, 10, allPass);
    expect(states(sim.tracker, at(9))).toEqual({ a: 'unknown', b: 'unknown' });
    // Results are fresh for 2 s: at +10 s after the first probe they are stale, so no recovery.
    expect(states(sim.tracker, at(9) + 1000)).toEqual({ a: 'unknown', b: 'unknown' });
    const late = createVerdictTracker({ staleAfterMs: 60_000 });
    run({ tracker: late, nodes: ['a', 'b'] }, 0, 10, allPass);
    expect(states(late, at(0) + 10_000)).toEqual({ a: 'healthy', b: 'healthy' });
    expect(states(late, at(0))).toEqual({ a: 'healthy', b: 'healthy' });
  });
});
