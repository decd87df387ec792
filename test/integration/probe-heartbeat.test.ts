// Two heartbeat endpoints on 127.0.0.1 (different ports): only loopback traffic.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeartbeatLostSignal, HeartbeatReceivedSignal, PlannedHandoverSignal, ProbeResultSignal } from '../../src/domain/signals.js';
import { systemClock } from '../../src/lease/clock.js';
import { createHeartbeatEndpoint, decodeHeartbeat, encodeHeartbeat, type HeartbeatEndpoint } from '../../src/probe/heartbeat.js';

type HbSignal = HeartbeatReceivedSignal | HeartbeatLostSignal;
const HOST = '127.0.0.1';
const INTERVAL = 50;
const MISSED = 3;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two free UDP ports on loopback (bind, read, close). */
async function freePorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve) => { const s = dgram.createSocket('udp4'); s.bind(0, HOST, () => resolve(s)); })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function pair() {
  const [pa, pb] = await freePorts(2);
  const sigA: HbSignal[] = [];
  const sigB: HbSignal[] = [];
  const a = createHeartbeatEndpoint({
    node: 'i-a', bindAddress: HOST, port: pa!, peers: [{ node: 'i-b', address: HOST, port: pb! }],
    clock: systemClock, verdict: () => 'healthy', onSignal: (s) => { if (s.kind === 'heartbeat-received' || s.kind === 'heartbeat-lost') sigA.push(s); }, intervalMs: INTERVAL, missedIntervals: MISSED,
  });
  const b = createHeartbeatEndpoint({
    node: 'i-b', bindAddress: HOST, port: pb!, peers: [{ node: 'i-a', address: HOST, port: pa! }],
    clock: systemClock, verdict: () => 'unknown', onSignal: (s) => { if (s.kind === 'heartbeat-received' || s.kind === 'heartbeat-lost') sigB.push(s); }, intervalMs: INTERVAL, missedIntervals: MISSED,
  });
  const eps: HeartbeatEndpoint[] = [a, b];
  cleanups.push(() => Promise.all(eps.map((e) => e.stop())).then(() => undefined));
  await a.start();
  await b.start();
  return { a, b, sigA, sigB, pa: pa!, pb: pb! };
}

describe('heartbeats on loopback', () => {
  it('two endpoints see each other, with increasing sequence numbers and the sender verdict', async () => {
    const { a, b, sigA, sigB } = await pair();
    await expect.poll(() => sigA.filter((s) => s.kind === 'heartbeat-received').length, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => sigB.filter((s) => s.kind === 'heartbeat-received').length, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
    const seqs = sigA.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(sigA.every((s) => s.kind === 'heartbeat-received' && s.from === 'i-b')).toBe(true);
    expect(a.peers()).toEqual([expect.objectContaining({ node: 'i-b', state: 'alive', lastVerdict: 'unknown' })]);
    expect(b.peers()).toEqual([expect.objectContaining({ node: 'i-a', state: 'alive', lastVerdict: 'healthy' })]);
    expect(a.stats()).toMatchObject({ malformed: 0, unknownPeer: 0 });
  });

  it('stopping one yields heartbeat-lost at the other after the missed intervals, not before', async () => {
    const { b, sigA } = await pair();
    await expect.poll(() => sigA.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    await b.stop();
    const stoppedAt = Date.now();
    await expect.poll(() => sigA.find((s) => s.kind === 'heartbeat-lost'), { timeout: 3_000, interval: 10 }).toBeDefined();
    const lost = sigA.find((s): s is HeartbeatLostSignal => s.kind === 'heartbeat-lost')!;
    const lastReceived = sigA.filter((s) => s.kind === 'heartbeat-received').at(-1)!;
    expect(lost.from).toBe('i-b');
    expect(lost.seq).toBe(lastReceived.seq);
    // Not before the peer has missed its intervals; and soon after (the upper bound is
    // loose on purpose: this is a 2-core machine under test load, not a benchmark).
    expect(lost.at - lastReceived.at).toBeGreaterThanOrEqual((MISSED - 1) * INTERVAL);
    expect(lost.at - stoppedAt).toBeLessThanOrEqual(MISSED * INTERVAL + 1_000);
    // Exactly one lost signal while the peer stays silent.
    await new Promise((r) => setTimeout(r, 4 * INTERVAL));
    expect(sigA.filter((s) => s.kind === 'heartbeat-lost')).toHaveLength(1);
  });

  it('a peer that comes back is received again after being lost', async () => {
    const [pa, pb] = await freePorts(2);
    const sigA: HbSignal[] = [];
    const a = createHeartbeatEndpoint({
      node: 'i-a', bindAddress: HOST, port: pa!, peers: [{ node: 'i-b', address: HOST, port: pb! }],
      clock: systemClock, verdict: () => 'healthy', onSignal: (s) => { if (s.kind === 'heartbeat-received' || s.kind === 'heartbeat-lost') sigA.push(s); }, intervalMs: INTERVAL, missedIntervals: MISSED,
    });
    const mkB = () => createHeartbeatEndpoint({
      node: 'i-b', bindAddress: HOST, port: pb!, peers: [{ node: 'i-a', address: HOST, port: pa! }],
      clock: systemClock, verdict: () => 'healthy', onSignal: () => undefined, intervalMs: INTERVAL, missedIntervals: MISSED,
    });
    let b = mkB();
    cleanups.push(() => a.stop(), () => b.stop());
    await a.start();
    await b.start();
    await expect.poll(() => sigA.some((s) => s.kind === 'heartbeat-received'), { timeout: 3_000 }).toBe(true);
    await b.stop();
    await expect.poll(() => sigA.some((s) => s.kind === 'heartbeat-lost'), { timeout: 3_000 }).toBe(true);
    expect(a.peers()[0]!.state).toBe('lost');
    b = mkB();
    await b.start();
    await expect.poll(() => sigA.at(-1)?.kind, { timeout: 3_000 }).toBe('heartbeat-received');
    expect(a.peers()[0]!.state).toBe('alive');
  });

  it('garbage datagrams are dropped and counted, never crash; unknown senders are counted apart', async () => {
    const { a, sigA, pa } = await pair();
    const sender = dgram.createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => sender.close(() => r())));
    const garbage = [
      Buffer.from('not json'),
      Buffer.from('{"node":"i-b","seq":-1,"verdict":"healthy","sentAt":1}'),
      Buffer.from('{"node":"i-b","seq":1,"verdict":"great","sentAt":1}'),
      Buffer.from('{"node":"i-b","seq":1,"verdict":"healthy","sentAt":1,"extra":true}'),
      Buffer.from('[]'),
      Buffer.from('null'),
      Buffer.alloc(17_000, 0x7b),
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    ];
    for (const g of garbage) await new Promise<void>((r, j) => sender.send(g, pa, HOST, (e) => (e ? j(e) : r())));
    await new Promise<void>((r, j) => sender.send(encodeHeartbeat({ node: 'i-zzz', seq: 1, verdict: 'healthy', sentAt: 1 }), pa, HOST, (e) => (e ? j(e) : r())));
    await expect.poll(() => a.stats().malformed, { timeout: 3_000 }).toBe(garbage.length);
    await expect.poll(() => a.stats().unknownPeer, { timeout: 3_000 }).toBe(1);
    // Still working: heartbeats from the real peer keep arriving.
    const before = sigA.length;
    await expect.poll(() => sigA.length, { timeout: 3_000 }).toBeGreaterThan(before);
    expect(sigA.every((s) => s.from === 'i-b')).toBe(true);
  });
});

describe('heartbeat codec', () => {
  it('round-trips compact JSON', () => {
    const m = { node: 'i-a', seq: 7, verdict: 'healthy' as const, sentAt: 1_700_000_000_000 };
    const buf = encodeHeartbeat(m);
    expect(buf.toString()).toBe('{"node":"i-a","seq":7,"verdict":"healthy","sentAt":1700000000000}');
    expect(decodeHeartbeat(buf)).toEqual(m);
    expect(decodeHeartbeat(Buffer.alloc(0))).toBeUndefined();
  });

  it('carries the egress and canLead flags only when set; a non-boolean flag is not a heartbeat', () => {
    const m = { node: 'i-a', seq: 1, verdict: 'healthy' as const, sentAt: 5, egress: true, canLead: true };
    expect(encodeHeartbeat(m).toString()).toBe('{"node":"i-a","seq":1,"verdict":"healthy","sentAt":5,"egress":true,"canLead":true}');
    expect(decodeHeartbeat(encodeHeartbeat(m))).toEqual(m);
    expect(encodeHeartbeat({ ...m, egress: false, canLead: false }).toString()).toBe('{"node":"i-a","seq":1,"verdict":"healthy","sentAt":5}');
    expect(decodeHeartbeat(Buffer.from('{"node":"i-a","seq":1,"verdict":"healthy","sentAt":5,"egress":"yes"}'))).toBeUndefined();
  });
});

describe('shared probe results over heartbeats', () => {
  it('each endpoint receives the other’s first-hand results once, as probe signals; setPeers changes who is heard', async () => {
    const [pa, pb] = await freePorts(2);
    const got: ProbeResultSignal[] = [];
    const start = Date.now();
    const a = createHeartbeatEndpoint({
      node: 'i-a', bindAddress: HOST, port: pa!, peers: [{ node: 'i-b', address: HOST, port: pb! }],
      clock: systemClock, verdict: () => 'healthy', onSignal: (s) => { if (s.kind === 'probe') got.push(s); }, intervalMs: INTERVAL,
    });
    const b = createHeartbeatEndpoint({
      node: 'i-b', bindAddress: HOST, port: pb!, peers: [{ node: 'i-a', address: HOST, port: pa! }],
      clock: systemClock, verdict: () => 'healthy', onSignal: () => undefined, intervalMs: INTERVAL,
      sharedResults: () => [['i-b', 'echo', 'self', 1, 3, start], ['i-a', 'echo', 'peer:i-b', 0, 500, start], ['i-a', 'echo', 'self', 1, 3, start]],
    });
    cleanups.push(() => a.stop(), () => b.stop());
    await a.start();
    await b.start();
    await expect.poll(() => a.stats().received, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
    expect(got.map((s) => `${s.node} ${s.vantage} ${s.ok}`)).toEqual(['i-b self true', 'i-a peer:i-b false']);
    expect(a.stats().sharedTaken).toBe(2);
    expect(a.stats().sharedRejected).toBeGreaterThanOrEqual(3);
    a.setPeers([]);
    expect(a.peers()).toEqual([]);
    const unknownBefore = a.stats().unknownPeer;
    await expect.poll(() => a.stats().unknownPeer, { timeout: 3_000 }).toBeGreaterThan(unknownBefore);
  });
});

describe('handover notices over heartbeats', () => {
  it('a notice reaches the peer once, as a planned-handover signal on the receiver’s clock', async () => {
    const [pa, pb] = await freePorts(2);
    const got: PlannedHandoverSignal[] = [];
    const announced: { notice?: { cause: 'sigterm'; at: number; deadline?: number } } = {};
    const a = createHeartbeatEndpoint({
      node: 'i-a', bindAddress: HOST, port: pa!, peers: [{ node: 'i-b', address: HOST, port: pb! }],
      clock: systemClock, verdict: () => 'healthy', onSignal: (s) => { if (s.kind === 'planned-handover') got.push(s); }, intervalMs: INTERVAL,
    });
    // b's clock runs 1 h ahead: the notice still lands at the right local time.
    const ahead = { now: () => Date.now() + 3_600_000 };
    const b = createHeartbeatEndpoint({
      node: 'i-b', bindAddress: HOST, port: pb!, peers: [{ node: 'i-a', address: HOST, port: pa! }],
      clock: ahead, verdict: () => 'healthy', onSignal: () => undefined, intervalMs: INTERVAL, handover: () => announced.notice,
    });
    cleanups.push(() => a.stop(), () => b.stop());
    await a.start();
    await b.start();
    await expect.poll(() => a.stats().received, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    expect(got).toEqual([]);
    announced.notice = { cause: 'sigterm', at: ahead.now(), deadline: ahead.now() + 30_000 };
    await expect.poll(() => got.length, { timeout: 3_000 }).toBe(1);
    const received = a.stats().received;
    await expect.poll(() => a.stats().received, { timeout: 3_000 }).toBeGreaterThan(received + 3);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'planned-handover', node: 'i-b', cause: 'sigterm' });
    expect(Math.abs(got[0]!.at - Date.now())).toBeLessThan(2_000);
    expect(Math.abs(got[0]!.deadline! - (Date.now() + 30_000))).toBeLessThan(2_000);
  });
});
