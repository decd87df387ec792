import { describe, expect, it } from 'vitest';
import type { ProbeResultSignal } from '../../src/domain/signals.js';
import { decodeHeartbeat, encodeHeartbeat } from '../../src/probe/heartbeat.js';
import { createSharedResultsInbox, createSharedResultsOutbox, MAX_SHARED_RESULTS, type SharedResult } from '../../src/probe/shared-results.js';

const probe = (node: string, target: string, vantage: ProbeResultSignal['vantage'], ok: boolean, at: number): ProbeResultSignal => ({ kind: 'probe', node, target, vantage, ok, latencyMs: 12.345, at });

describe('shared results outbox', () => {
  it('keeps the latest result per (node, target, vantage) and drops stale ones', () => {
    const out = createSharedResultsOutbox(2_000);
    out.record(probe('i-a', 't1', 'self', true, 1_000));
    out.record(probe('i-a', 't1', 'self', false, 1_200));
    out.record(probe('i-a', 't1', 'self', true, 1_100)); // older than what it has: ignored
    out.record(probe('i-b', 't1', 'peer:i-a', true, 1_200));
    expect(out.current(1_300)).toEqual([
      ['i-a', 't1', 'self', 0, 12.3, 1_200],
      ['i-b', 't1', 'peer:i-a', 1, 12.3, 1_200],
    ]);
    expect(out.current(3_300)).toEqual([]);
  });

  it('never puts more than MAX_SHARED_RESULTS in one heartbeat', () => {
    const out = createSharedResultsOutbox(2_000);
    for (let i = 0; i < MAX_SHARED_RESULTS + 10; i++) out.record(probe('i-a', `t${i}`, 'self', true, 1_000));
    const results = out.current(1_000);
    expect(results).toHaveLength(MAX_SHARED_RESULTS);
    const buf = encodeHeartbeat({ node: 'i-a', seq: 1, verdict: 'healthy', sentAt: 1_000, probes: results });
    expect(decodeHeartbeat(buf)?.probes).toHaveLength(MAX_SHARED_RESULTS);
  });
});

describe('shared results inbox', () => {
  it('takes only first-hand results: the sender about itself (self), or the sender through another node', () => {
    const inbox = createSharedResultsInbox('i-b');
    const results: SharedResult[] = [
      ['i-b', 't1', 'self', 1, 5, 900], // b about itself: taken
      ['i-a', 't1', 'peer:i-b', 0, 500, 900], // b's probe through a: taken
      ['i-a', 't1', 'self', 1, 5, 900], // a's own view relayed by b: refused
      ['i-b', 't1', 'peer:i-b', 1, 5, 900], // through itself as a peer: refused
      ['i-c', 't1', 'peer:i-a', 1, 5, 900], // a's probe relayed by b: refused
    ];
    const { signals, rejected } = inbox.accept(results, 1_000, 50_000);
    expect(rejected).toBe(3);
    expect(signals).toEqual([
      { kind: 'probe', node: 'i-b', target: 't1', vantage: 'self', ok: true, latencyMs: 5, at: 49_900 },
      { kind: 'probe', node: 'i-a', target: 't1', vantage: 'peer:i-b', ok: false, latencyMs: 500, at: 49_900 },
    ]);
  });

  it('takes each result once, however many heartbeats repeat it, and maps times by age onto the local clock', () => {
    const inbox = createSharedResultsInbox('i-b');
    // The sender's clock is 1 h ahead of ours: ages still come out right.
    const ahead = 3_600_000;
    const r: SharedResult = ['i-b', 't1', 'self', 1, 5, ahead + 1_000];
    expect(inbox.accept([r], ahead + 1_100, 1_150).signals.map((s) => s.at)).toEqual([1_050]);
    expect(inbox.accept([r], ahead + 1_200, 1_250).signals).toEqual([]);
    const newer: SharedResult = ['i-b', 't1', 'self', 0, 5, ahead + 1_200];
    expect(inbox.accept([r, newer], ahead + 1_300, 1_350).signals.map((s) => [s.ok, s.at])).toEqual([[false, 1_250]]);
    // A result stamped after sentAt (a confused sender) is never placed in our future.
    expect(inbox.accept([['i-b', 't2', 'self', 1, 5, ahead + 9_999]], ahead + 1_400, 1_450).signals[0]!.at).toBe(1_450);
  });

  it('the codec refuses malformed shared results as a malformed heartbeat', () => {
    const bad = (probes: unknown) => decodeHeartbeat(Buffer.from(JSON.stringify({ node: 'i-b', seq: 1, verdict: 'healthy', sentAt: 1, probes })));
    expect(bad([['i-b', 't1', 'self', 1, 5, 900]])).toBeDefined();
    expect(bad([['i-b', 't1', 'elsewhere', 1, 5, 900]])).toBeUndefined();
    expect(bad([['i-b', 't1', 'self', true, 5, 900]])).toBeUndefined();
    expect(bad([['i-b', 't1', 'self', 1, -5, 900]])).toBeUndefined();
    expect(bad([['i-b', 't1', 'self', 1, 5]])).toBeUndefined();
    expect(bad(Array.from({ length: MAX_SHARED_RESULTS + 1 }, () => ['i-b', 't1', 'self', 1, 5, 900]))).toBeUndefined();
  });
});
