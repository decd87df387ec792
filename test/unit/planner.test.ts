import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLANNER_POLICY, plan, type NodeHealth, type ObservedVpc, type PlannerPolicy, type TransitionRecord } from '../../src/domain/planner/index.js';
import type { Ec2State } from '../../src/domain/signals.js';

const NOW = 10_000_000;
type Mod = { vpc?: (v: ObservedVpc) => void; health?: Record<string, NodeHealth['state'] | [NodeHealth['state'], number]>; history?: TransitionRecord[]; policy?: Partial<PlannerPolicy> };

/** Zone a: a1 (carries eni-a) + standby a2, tables rtb-a1, rtb-a2. Zone b: b1 with eni-b, rtb-b. Zone c: c1, no floating ENI, rtb-c → c1's ENI. */
function vpc(): ObservedVpc {
  const node = (id: string, zone: string, state: Ec2State = 'running') => ({ id, zone, state, primaryEniId: `eni-${id}` });
  const table = (id: string, zone: string, target: string) => ({ id, zone, target: { kind: 'eni' as const, id: target }, blackhole: false, subnetAssociations: [{ associationId: `assoc-${id}`, subnetId: `subnet-${id}` }] });
  return {
    zones: [
      { name: 'a', floatingEni: { eniId: 'eni-a', deviceIndex: 1, attachedTo: 'a1', attachmentId: 'attach-a' } },
      { name: 'b', floatingEni: { eniId: 'eni-b', deviceIndex: 1, attachedTo: 'b1', attachmentId: 'attach-b' } },
      { name: 'c' },
    ],
    nodes: [node('a1', 'a'), node('a2', 'a'), node('b1', 'b'), node('c1', 'c')],
    routeTables: [table('rtb-a1', 'a', 'eni-a'), table('rtb-a2', 'a', 'eni-a'), table('rtb-b', 'b', 'eni-b'), table('rtb-c', 'c', 'eni-c1')],
  };
}

function run(mod: Mod = {}) {
  const v = vpc();
  mod.vpc?.(v);
  const health = new Map<string, NodeHealth>();
  for (const n of v.nodes) health.set(n.id, { state: 'healthy', healthySince: NOW - 3_600_000 });
  for (const [id, h] of Object.entries(mod.health ?? {})) {
    const [state, since] = Array.isArray(h) ? h : [h, undefined];
    health.set(id, { state, ...(state === 'healthy' ? { healthySince: since ?? NOW - 3_600_000 } : {}) });
  }
  return plan({ vpc: v, health, history: mod.history ?? [], policy: { ...DEFAULT_PLANNER_POLICY, ...mod.policy }, now: NOW });
}

const summary = (p: ReturnType<typeof plan>) => p.decisions.filter((d) => d.outcome !== 'ok').map((d) => `${d.zone} ${d.outcome} ${d.strategy ?? '-'} ${d.via ?? '-'}`);
const steps = (p: ReturnType<typeof plan>) =>
  p.actions.map((a) =>
    a.kind === 'detach-eni' ? `detach ${a.eniId} from ${a.from}` : a.kind === 'attach-eni' ? `attach ${a.eniId} to ${a.to}` : a.kind === 'replace-route' ? `route ${a.routeTableId} → ${a.target.kind === 'none' ? 'none' : a.target.id}` : `associate ${a.subnetId} with ${a.routeTableId}`,
  );

/** What the executor's calls do to the observed VPC (the lab's rules, simplified). */
function applyActions(v: ObservedVpc, actions: ReturnType<typeof plan>['actions']) {
  for (const a of actions) {
    const zone = v.zones.find((z) => z.name === a.zone)!;
    if (a.kind === 'detach-eni') zone.floatingEni = { eniId: a.eniId, deviceIndex: 1 };
    else if (a.kind === 'attach-eni') zone.floatingEni = { eniId: a.eniId, deviceIndex: a.deviceIndex, attachedTo: a.to, attachmentId: `attach-${a.to}` };
    else if (a.kind === 'replace-route') Object.assign(v.routeTables.find((t) => t.id === a.routeTableId)!, { target: a.target, blackhole: false });
  }
}

const stop = (id: string, state: Ec2State = 'stopped') => (v: ObservedVpc) => void (v.nodes.find((n) => n.id === id)!.state = state);
const routeBToC1 = (v: ObservedVpc) => void (v.routeTables.find((t) => t.id === 'rtb-b')!.target = { kind: 'eni', id: 'eni-c1' });

describe('planner: table-driven', () => {
  const cases: { name: string; mod: Mod; decisions: string[]; actions: string[] }[] = [
    { name: 'everything healthy: nothing to do', mod: {}, decisions: [], actions: [] },
    { name: 'a1 unhealthy, standby a2: eni-move, 2 calls, no route touched', mod: { health: { a1: 'unhealthy' } }, decisions: ['a failover eni-move a2'], actions: ['detach eni-a from a1', 'attach eni-a to a2'] },
    { name: 'a1 stopped in EC2 (verdict still healthy): the same', mod: { vpc: stop('a1') }, decisions: ['a failover eni-move a2'], actions: ['detach eni-a from a1', 'attach eni-a to a2'] },
    { name: 'a1 terminated and its ENI already detached: attach only', mod: { vpc: (v) => { stop('a1', 'terminated')(v); v.zones[0]!.floatingEni = { eniId: 'eni-a', deviceIndex: 1 }; for (const t of v.routeTables.filter((t) => t.zone === 'a')) t.blackhole = true; } }, decisions: ['a failover eni-move a2'], actions: ['attach eni-a to a2'] },
    { name: 'b1 (zone b’s only NAT) unhealthy: cross-zone to the least-loaded NAT', mod: { health: { b1: 'unhealthy' } }, decisions: ['b failover route-replace a2'], actions: ['route rtb-b → eni-a2'] },
    { name: 'a1 and a2 both failed: zone a cross-zone, to the other zone’s floating ENI', mod: { health: { a1: 'unhealthy', a2: 'unhealthy' } }, decisions: ['a failover route-replace b1'], actions: ['route rtb-a1 → eni-b', 'route rtb-a2 → eni-b'] },
    { name: 'a1 announces a Spot interruption: planned handover to a2', mod: { vpc: (v) => void (v.nodes[0]!.handover = { cause: 'spot-instance-action', at: NOW - 100 }) }, decisions: ['a handover eni-move a2'], actions: ['detach eni-a from a1', 'attach eni-a to a2'] },
    { name: 'unknown verdict (windows filling): not blamed, nothing moves', mod: { health: { a1: 'unknown' } }, decisions: [], actions: [] },
    { name: 'internet unreachable for everyone: nothing moves', mod: { health: { a1: 'internet-unreachable', a2: 'internet-unreachable', b1: 'internet-unreachable', c1: 'internet-unreachable' } }, decisions: [], actions: [] },
    { name: 'every NAT failed, no NAT Gateway: no egress, said so', mod: { health: { a1: 'unhealthy', a2: 'unhealthy', b1: 'unhealthy', c1: 'unhealthy' } }, decisions: ['a no-egress - -', 'b no-egress - -', 'c no-egress - -'], actions: [] },
    { name: 'every NAT failed, zone b has a NAT Gateway: b uses it', mod: { health: { a1: 'unhealthy', a2: 'unhealthy', b1: 'unhealthy', c1: 'unhealthy' }, vpc: (v) => void (v.zones[1]!.fallbackNatGatewayId = 'nat-0b') }, decisions: ['a no-egress - -', 'b failover nat-gateway nat-0b', 'c no-egress - -'], actions: ['route rtb-b → nat-0b'] },
    { name: 'zone b served by c1, b1 healthy for 30 s of 60: wait', mod: { vpc: routeBToC1, health: { b1: ['healthy', NOW - 30_000] } }, decisions: [], actions: [] },
    { name: 'zone b served by c1, b1 healthy for 61 s: failback to eni-b', mod: { vpc: routeBToC1, health: { b1: ['healthy', NOW - 61_000] } }, decisions: ['b failback eni-move b1'], actions: ['route rtb-b → eni-b'] },
    { name: 'failback to a replacement b2 that is not carrying eni-b yet: attach, then route', mod: { vpc: (v) => { routeBToC1(v); v.nodes = v.nodes.filter((n) => n.id !== 'b1'); v.nodes.push({ id: 'b2', zone: 'b', state: 'running', primaryEniId: 'eni-b2' }); v.zones[1]!.floatingEni = { eniId: 'eni-b', deviceIndex: 1 }; }, health: { b2: ['healthy', NOW - 61_000] } }, decisions: ['b failback eni-move b2'], actions: ['attach eni-b to b2', 'route rtb-b → eni-b'] },
    { name: 'failback held by anti-flap after 4 transitions in 10 min', mod: { vpc: routeBToC1, health: { b1: ['healthy', NOW - 61_000] }, history: [1, 2, 3, 4].map((i) => ({ zone: 'b', at: NOW - i * 60_000 })) }, decisions: ['b held - b1'], actions: [] },
    { name: 'anti-flap never holds a failover away from a failed node', mod: { health: { a1: 'unhealthy' }, history: [1, 2, 3, 4, 5].map((i) => ({ zone: 'a', at: NOW - i * 1_000 })) }, decisions: ['a failover eni-move a2'], actions: ['detach eni-a from a1', 'attach eni-a to a2'] },
    { name: 'a route marked blackhole whose target is a running, healthy NAT (EC2 lagging): nothing moves', mod: { vpc: (v) => void (v.routeTables.find((t) => t.id === 'rtb-a1')!.blackhole = true) }, decisions: [], actions: [] },
    { name: 'a blackhole route in zone c (c1 fine): repaired to c1', mod: { vpc: (v) => void (v.routeTables.find((t) => t.id === 'rtb-c')!.target = { kind: 'none' }) }, decisions: ['c failover route-replace c1'], actions: ['route rtb-c → eni-c1'] },
    { name: 'association swap enabled: zone b’s subnets onto zone a’s table', mod: { health: { b1: 'unhealthy' }, policy: { associationSwap: true } }, decisions: ['b failover association-swap a1'], actions: ['associate subnet-rtb-b with rtb-a1'] },
    { name: 'zones without egress come first', mod: { health: { c1: 'unhealthy' }, vpc: (v) => void (v.nodes[0]!.handover = { cause: 'sigterm', at: NOW }) }, decisions: ['c failover route-replace a2', 'a handover eni-move a2'], actions: ['route rtb-c → eni-a2', 'detach eni-a from a1', 'attach eni-a to a2'] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const p = run(c.mod);
      expect(summary(p)).toEqual(c.decisions);
      expect(steps(p)).toEqual(c.actions);
    });

  it('every decision says why', () => {
    const p = run({ health: { a1: 'unhealthy', b1: 'unhealthy' } });
    expect(p.decisions.find((d) => d.zone === 'a')!.reason).toMatch(/rtb-a1: a1 is unhealthy.*eni-move via a2/);
  });
});

describe('planner: properties over random states', () => {
  const states = fc.constantFrom<Ec2State>('running', 'running', 'running', 'stopped', 'terminated', 'pending');
  const verdicts = fc.constantFrom<NodeHealth['state']>('healthy', 'healthy', 'unhealthy', 'unknown', 'internet-unreachable');
  it('never routes to an unconfigured target, never moves egress onto a node that is not usable, and is idempotent once applied', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(states, verdicts, fc.boolean()), { minLength: 4, maxLength: 4 }), (per) => {
        const mod: Mod = {
          vpc: (v) => v.nodes.forEach((n, i) => { n.state = per[i]![0]; if (per[i]![2]) n.handover = { cause: 'sigterm', at: NOW }; }),
          health: Object.fromEntries(['a1', 'a2', 'b1', 'c1'].map((id, i) => [id, per[i]![1]])),
        };
        const p = run(mod);
        const v = vpc();
        mod.vpc!(v);
        const usable = new Set(v.nodes.filter((n, i) => n.state === 'running' && per[i]![1] === 'healthy' && !n.handover).map((n) => n.id));
        for (const d of p.decisions) if (d.actions.length && d.strategy !== 'nat-gateway') expect(usable.has(d.via!)).toBe(true);
        for (const a of p.actions) if (a.kind === 'attach-eni') expect(usable.has(a.to)).toBe(true);
        // Applied, the same inputs plan nothing more: the loop is level-triggered and converges.
        const after = vpc();
        mod.vpc!(after);
        applyActions(after, p.actions);
        const again = run({ ...mod, vpc: (x) => Object.assign(x, structuredClone(after)) });
        expect(steps(again)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
