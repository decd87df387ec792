import { describe, expect, it } from 'vitest';
import { applyIntents, FAILBACK_INTENT_MS, intentsFrom, OPERATOR_FAILBACK, OPERATOR_FAILOVER } from '../../src/controller/operator-intents.js';
import type { NodeHealth, ObservedVpc } from '../../src/domain/planner/index.js';
import type { DecisionRecord } from '../../src/domain/ports/lease-store.js';

let seq = 0;
const rec = (action: string, detail: DecisionRecord['detail'], at: number): DecisionRecord => ({ seq: ++seq, token: 1, at, holder: 'operator:me@host', action, ...(detail ? { detail } : {}) });

describe('operator intents from the decision log', () => {
  it('a failover lasts until its end, a later failback ends it, and the controller’s failback spends the failback request', () => {
    const fo = rec(OPERATOR_FAILOVER, { zone: 'a', from: 'i-1', to: 'i-2', until: 10_000 }, 1_000);
    expect(intentsFrom([fo], 5_000).away.get('a')).toMatchObject({ from: 'i-1', to: 'i-2', until: 10_000 });
    expect(intentsFrom([fo], 10_000).away.size).toBe(0);
    const fb = rec(OPERATOR_FAILBACK, { zone: 'a' }, 2_000);
    // Newest first, as history() returns them: applied oldest first all the same.
    const live = intentsFrom([fb, fo], 3_000);
    expect([live.away.size, live.failbackNow.get('a')]).toEqual([0, 2_000]);
    expect(intentsFrom([fb, fo], 2_000 + FAILBACK_INTENT_MS).failbackNow.size).toBe(0);
    const done = rec('failback', { zone: 'a' }, 2_500);
    expect(intentsFrom([done, fb, fo], 3_000).failbackNow.size).toBe(0);
  });

  it('records without a zone, node or end are ignored', () => {
    const bad = [rec(OPERATOR_FAILOVER, { from: 'i-1', until: 9e15 }, 1), rec(OPERATOR_FAILOVER, { zone: 'a', until: 9e15 }, 1), rec(OPERATOR_FAILOVER, { zone: 'a', from: 'i-1', until: 'later' }, 1), rec(OPERATOR_FAILBACK, undefined, 1)];
    expect(intentsFrom(bad, 2)).toEqual({ away: new Map(), failbackNow: new Map() });
  });

  it('applied: the node egress leaves gets a handover notice, --to pins the zone, a failback request makes the zone’s healthy NATs stable now', () => {
    const vpc: ObservedVpc = { zones: [{ name: 'a' }, { name: 'b' }], routeTables: [], nodes: [{ id: 'i-1', zone: 'a', state: 'running', primaryEniId: 'eni-1' }, { id: 'i-3', zone: 'b', state: 'running', primaryEniId: 'eni-3' }] };
    const health = new Map<string, NodeHealth>([['i-3', { state: 'healthy', healthySince: 99_000 }]]);
    const intents = intentsFrom([rec(OPERATOR_FAILOVER, { zone: 'a', from: 'i-1', to: 'i-2', until: 500_000 }, 1_000), rec(OPERATOR_FAILBACK, { zone: 'b' }, 1_000)], 100_000);
    const only = applyIntents(vpc, health, intents, 60_000, 100_000);
    expect(vpc.nodes[0]!.handover).toEqual({ cause: 'operator', at: 1_000, deadline: 500_000 });
    expect([...only]).toEqual([['a', 'i-2']]);
    expect(health.get('i-3')).toEqual({ state: 'healthy', healthySince: 40_000 });
  });
});
