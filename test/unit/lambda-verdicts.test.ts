// Verdicts without agents (EC2 + Auto Scaling + the event's notice), and what the
// planner makes of them: failover away from condemned NATs, never a failback.
import { describe, expect, it } from 'vitest';
import { planFromObservation } from '../../src/controller/loop.js';
import { DEFAULT_PLANNER_POLICY, type ObservedNode, type ObservedVpc } from '../../src/domain/planner/index.js';
import { egressCarriedBy, zonesWithoutEgress } from '../../src/lambda/egress.js';
import type { HandledEvent } from '../../src/lambda/events.js';
import { deriveVerdicts, noticeOf, SPOT_WARNING_MS } from '../../src/lambda/verdicts.js';

const NOW = 1_800_000_000_000;
const node = (id: string, state: ObservedNode['state'] = 'running', zone = 'a'): ObservedNode => ({ id, zone, state, primaryEniId: `eni-p${id}` });
const base = { id: 'e', time: NOW - 5_000 };

describe('noticeOf', () => {
  it('spot → spot-instance-action with deadline time + 120 s; rebalance; terminate lifecycle; none for the rest', () => {
    expect(noticeOf({ ...base, kind: 'spot-interruption', instanceId: 'i-1', action: 'terminate' })).toEqual({ node: 'i-1', cause: 'spot-instance-action', at: base.time, deadline: base.time + SPOT_WARNING_MS });
    expect(SPOT_WARNING_MS).toBe(120_000);
    expect(noticeOf({ ...base, kind: 'rebalance', instanceId: 'i-1' })).toEqual({ node: 'i-1', cause: 'rebalance-recommendation', at: base.time });
    expect(noticeOf({ ...base, kind: 'lifecycle-terminate', instanceId: 'i-1', groupName: 'g', hookName: 'h', token: 't' })).toEqual({ node: 'i-1', cause: 'lifecycle-terminating', at: base.time });
    const none: HandledEvent[] = [
      { ...base, kind: 'schedule' },
      { ...base, kind: 'instance-state', instanceId: 'i-1', state: 'stopped' },
      { ...base, kind: 'lifecycle-launch', instanceId: 'i-1', groupName: 'g', hookName: 'h', token: 't' },
    ];
    for (const e of none) expect(noticeOf(e)).toBeUndefined();
  });
});

describe('deriveVerdicts', () => {
  const nodes = [node('i-in'), node('i-free'), node('i-pend'), node('i-pwait'), node('i-twait'), node('i-stop', 'stopped'), node('i-standby')];
  const asg = new Map([
    ['i-in', 'InService'],
    ['i-pend', 'Pending'],
    ['i-pwait', 'Pending:Wait'],
    ['i-twait', 'Terminating:Wait'],
    ['i-stop', 'InService'],
    ['i-standby', 'Standby'],
  ]);
  const v = (id: string, notice?: Parameters<typeof deriveVerdicts>[2]) => deriveVerdicts(nodes, asg, notice, NOW).find((x) => x.node === id)!;

  it('running and InService, or in no group → healthy since now (never stable for failback)', () => {
    expect(v('i-in')).toMatchObject({ state: 'healthy', since: NOW });
    expect(v('i-in').handover).toBeUndefined();
    expect(v('i-free')).toMatchObject({ state: 'healthy', since: NOW, reason: expect.stringContaining('no Auto Scaling group') });
  });
  it('Pending, Pending:Wait and other group states → unknown (never chosen)', () => {
    for (const id of ['i-pend', 'i-pwait', 'i-standby']) expect(v(id)).toMatchObject({ state: 'unknown' });
  });
  it('Terminating:Wait → a lifecycle-terminating handover notice even without the event', () => {
    expect(v('i-twait')).toMatchObject({ state: 'healthy', handover: { cause: 'lifecycle-terminating', at: NOW } });
  });
  it('not running → unhealthy ec2-not-running', () => {
    expect(v('i-stop')).toMatchObject({ state: 'unhealthy', code: 'ec2-not-running', reason: 'EC2 state stopped' });
  });
  it('the event notice lands on its node only', () => {
    const n = { node: 'i-in', cause: 'spot-instance-action' as const, at: NOW - 1_000, deadline: NOW + 119_000 };
    expect(v('i-in', n).handover).toEqual({ cause: 'spot-instance-action', at: NOW - 1_000, deadline: NOW + 119_000 });
    expect(v('i-free', n).handover).toBeUndefined();
    // The event's notice wins over the group state's generic one.
    expect(v('i-twait', { ...n, node: 'i-twait', cause: 'lifecycle-terminating' }).handover).toEqual({ cause: 'lifecycle-terminating', at: NOW - 1_000, deadline: NOW + 119_000 });
  });
});

/** Zone a: floating ENI on a1 (standby a2); zone b: route to b1's primary ENI. */
function vpc(a1: ObservedNode['state'] = 'running', opts: { bRoute?: 'b1' | 'a2' } = {}): ObservedVpc {
  return {
    zones: [{ name: 'a', floatingEni: { eniId: 'eni-fa', deviceIndex: 1, attachedTo: 'i-a1', attachmentId: 'att-1' } }, { name: 'b' }],
    nodes: [node('i-a1', a1), node('i-a2'), node('i-b1', 'running', 'b')],
    routeTables: [
      { id: 'rtb-a', zone: 'a', target: { kind: 'eni', id: 'eni-fa' }, blackhole: false, subnetAssociations: [] },
      { id: 'rtb-b', zone: 'b', target: { kind: 'eni', id: opts.bRoute === 'a2' ? 'eni-pi-a2' : 'eni-pi-b1' }, blackhole: false, subnetAssociations: [] },
    ],
  };
}
const plan = (v: ObservedVpc, asg: Map<string, string>, notice?: Parameters<typeof deriveVerdicts>[2]) =>
  planFromObservation(v, deriveVerdicts(v.nodes, asg, notice, NOW), [], { ...DEFAULT_PLANNER_POLICY, failbackAfterMs: 0 }, NOW);

describe('the planner on Lambda verdicts', () => {
  it('a stopped carrier → eni-move to the standby', () => {
    const p = plan(vpc('stopped'), new Map());
    expect(p.decisions.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'failover', strategy: 'eni-move', via: 'i-a2' });
  });
  it('a spot warning for the carrier → handover to the standby', () => {
    const p = plan(vpc(), new Map(), { node: 'i-a1', cause: 'spot-instance-action', at: NOW, deadline: NOW + SPOT_WARNING_MS });
    expect(p.decisions.find((d) => d.zone === 'a')).toMatchObject({ outcome: 'handover', via: 'i-a2' });
  });
  it('a pending standby is never chosen: no usable NAT, held', () => {
    const p = plan(vpc(), new Map([['i-a2', 'Pending:Wait']]), { node: 'i-a1', cause: 'rebalance-recommendation', at: NOW });
    expect(p.decisions.find((d) => d.zone === 'a')?.actions.filter((a) => a.kind === 'attach-eni' && a.to === 'i-a2')).toEqual([]);
  });
  it('never fails back: zone b served by a2 stays there although b1 runs, in no group (healthy since now)', () => {
    const v = vpc('running', { bRoute: 'a2' });
    const p = planFromObservation(v, deriveVerdicts(v.nodes, new Map(), undefined, NOW), [], DEFAULT_PLANNER_POLICY, NOW);
    expect(p.decisions.find((d) => d.zone === 'b')).toMatchObject({ outcome: 'ok', actions: [] });
  });
});

describe('egress readings', () => {
  it('zonesWithoutEgress: a route through a stopped NAT, a blackhole to nothing, a missing route', () => {
    expect(zonesWithoutEgress(vpc())).toEqual([]);
    expect(zonesWithoutEgress(vpc('stopped'))).toEqual(['a']);
    const v = vpc();
    v.zones[0]!.floatingEni = { eniId: 'eni-fa', deviceIndex: 1 };
    v.routeTables[0]!.blackhole = true;
    expect(zonesWithoutEgress(v)).toEqual(['a']);
    const w = vpc();
    w.routeTables[1]!.target = { kind: 'none' };
    expect(zonesWithoutEgress(w)).toEqual(['b']);
  });
  it('egressCarriedBy: the floating ENI, a route to its primary ENI, or nothing', () => {
    expect(egressCarriedBy(vpc(), 'i-a1')).toMatch(/floating ENI eni-fa/);
    expect(egressCarriedBy(vpc(), 'i-b1')).toMatch(/route table rtb-b/);
    expect(egressCarriedBy(vpc(), 'i-a2')).toBeUndefined();
  });
});
