import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlannedHandoverSignal } from '../../src/domain/signals.js';
import { ImdsClient } from '../../src/aws/imds.js';
import { ImdsWatcher, REBALANCE_PATH, SPOT_INSTANCE_ACTION_PATH, handoverOnSigterm } from '../../src/aws/imds-watcher.js';

/** An IMDS fake: path → body (404 when absent) or an Error to throw. */
function fakeImds(docs: Map<string, string | Error>) {
  const calls: string[] = [];
  return {
    calls,
    get: vi.fn(async (path: string) => {
      calls.push(path);
      const v = docs.get(path);
      if (v instanceof Error) throw v;
      return v;
    }),
  };
}

describe('ImdsWatcher', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2025-03-01T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('polls every 2 s by default and signals a Spot notice once, with its deadline', async () => {
    const docs = new Map<string, string | Error>();
    const imds = fakeImds(docs);
    const signals: PlannedHandoverSignal[] = [];
    const w = new ImdsWatcher({ imds, node: 'i-1', onSignal: (s) => signals.push(s) });
    w.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.stats.polls).toBe(1);
    expect(signals).toEqual([]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(w.stats.polls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.stats.polls).toBe(2);

    docs.set(SPOT_INSTANCE_ACTION_PATH, JSON.stringify({ action: 'terminate', time: '2025-03-01T12:02:04Z' }));
    await vi.advanceTimersByTimeAsync(2000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(signals).toEqual([
      { kind: 'planned-handover', node: 'i-1', cause: 'spot-instance-action', at: Date.parse('2025-03-01T12:00:04Z'), deadline: Date.parse('2025-03-01T12:02:04Z') },
    ]);
    expect(w.stats).toMatchObject({ errors: 0, signals: 1 });
    await w.stop();
  });

  it('signals a rebalance recommendation once, and a new notice time again', async () => {
    const docs = new Map<string, string | Error>([[REBALANCE_PATH, JSON.stringify({ noticeTime: '2025-03-01T11:59:00Z' })]]);
    const signals: PlannedHandoverSignal[] = [];
    const w = new ImdsWatcher({ imds: fakeImds(docs), node: 'i-2', intervalMs: 500, onSignal: (s) => signals.push(s) });
    w.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toEqual({ kind: 'planned-handover', node: 'i-2', cause: 'rebalance-recommendation', at: Date.parse('2025-03-01T12:00:00Z') });
    docs.set(REBALANCE_PATH, JSON.stringify({ noticeTime: '2025-03-01T12:30:00Z' }));
    await vi.advanceTimersByTimeAsync(500);
    expect(signals.map((s) => s.cause)).toEqual(['rebalance-recommendation', 'rebalance-recommendation']);
    await w.stop();
  });

  it('counts IMDS errors and bad documents, keeps polling, and signals once IMDS answers', async () => {
    const docs = new Map<string, string | Error>([
      [SPOT_INSTANCE_ACTION_PATH, new Error('connect ECONNREFUSED')],
      [REBALANCE_PATH, '{not json'],
    ]);
    const signals: PlannedHandoverSignal[] = [];
    const w = new ImdsWatcher({ imds: fakeImds(docs), node: 'i-3', intervalMs: 1000, onSignal: (s) => signals.push(s) });
    w.start();
    await vi.advanceTimersByTimeAsync(2500);
    expect(w.stats).toMatchObject({ polls: 3, errors: 6, signals: 0 });
    expect(w.stats.lastError).toMatch(/rebalance|ECONNREFUSED/);
    docs.set(SPOT_INSTANCE_ACTION_PATH, JSON.stringify({ action: 'stop', time: '2025-03-01T12:02:00Z' }));
    docs.delete(REBALANCE_PATH);
    await vi.advanceTimersByTimeAsync(1000);
    expect(signals.map((s) => s.cause)).toEqual(['spot-instance-action']);
    expect(w.stats.errors).toBe(6);
    await w.stop();
  });

  it('survives an onSignal that throws', async () => {
    const docs = new Map<string, string | Error>([[REBALANCE_PATH, JSON.stringify({ noticeTime: '2025-03-01T11:59:00Z' })]]);
    const onSignal = vi.fn(() => {
      throw new Error('boom');
    });
    const w = new ImdsWatcher({ imds: fakeImds(docs), node: 'i-4', onSignal });
    w.start();
    await vi.advanceTimersByTimeAsync(6000);
    expect(onSignal).toHaveBeenCalledTimes(1);
    expect(w.stats.polls).toBe(4);
    await w.stop();
  });

  it('stop() waits for the poll in flight and polls no more', async () => {
    let release: (() => void) | undefined;
    const imds = {
      get: vi.fn(
        (path: string) =>
          new Promise<string | undefined>((resolve) => {
            release = () => resolve(path === REBALANCE_PATH ? JSON.stringify({ noticeTime: '2025-03-01T11:00:00Z' }) : undefined);
          }),
      ),
    };
    const signals: PlannedHandoverSignal[] = [];
    const w = new ImdsWatcher({ imds, node: 'i-5', onSignal: (s) => signals.push(s) });
    w.start();
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = w.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release!(); // spot/instance-action: none
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release!(); // the rebalance notice
    await stopping;
    expect(signals).toHaveLength(1);
    const calls = imds.get.mock.calls.length;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(imds.get.mock.calls.length).toBe(calls);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('goes through a real ImdsClient with an injected fetch: token once, 404 means none', async () => {
    const seen: { method: string; url: string; token?: string }[] = [];
    const fetchFake = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const headers = (init?.headers ?? {}) as Record<string, string>;
      seen.push({ method: init?.method ?? 'GET', url, ...(headers['X-aws-ec2-metadata-token'] ? { token: headers['X-aws-ec2-metadata-token'] } : {}) });
      if (url.endsWith('/latest/api/token')) return new Response('tok-1', { status: 200 });
      if (url.endsWith('/spot/instance-action')) return new Response(JSON.stringify({ action: 'terminate', time: '2025-03-01T12:02:00Z' }), { status: 200 });
      return new Response('Not Found', { status: 404 });
    });
    const imds = new ImdsClient({ baseUrl: 'http://imds.test', fetch: fetchFake });
    const signals: PlannedHandoverSignal[] = [];
    const w = new ImdsWatcher({ imds, node: 'i-6', onSignal: (s) => signals.push(s) });
    w.start();
    await vi.advanceTimersByTimeAsync(4000);
    await w.stop();
    expect(signals).toEqual([expect.objectContaining({ cause: 'spot-instance-action', deadline: Date.parse('2025-03-01T12:02:00Z') })]);
    expect(w.stats.errors).toBe(0);
    expect(seen.filter((s) => s.method === 'PUT')).toHaveLength(1);
    expect(seen.filter((s) => s.method === 'GET').every((s) => s.token === 'tok-1')).toBe(true);
  });
});

describe('handoverOnSigterm', () => {
  it('turns the first SIGTERM into one planned-handover signal and detaches', () => {
    const proc = new EventEmitter();
    const signals: PlannedHandoverSignal[] = [];
    const detach = handoverOnSigterm(proc, { node: 'i-7', onSignal: (s) => signals.push(s), now: () => 42 });
    expect(proc.listenerCount('SIGTERM')).toBe(1);
    proc.emit('SIGTERM');
    proc.emit('SIGTERM');
    expect(signals).toEqual([{ kind: 'planned-handover', node: 'i-7', cause: 'sigterm', at: 42 }]);
    detach();
    expect(proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('accepts process itself', () => {
    const detach = handoverOnSigterm(process, { node: 'i-8', onSignal: () => {} });
    detach();
  });
});
