import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/domain/clock.js';
import type { ProbeResultSignal } from '../../src/domain/signals.js';
import type { ProbeFn } from '../../src/probe/probes.js';
import { createProbeScheduler, type ProbeJob } from '../../src/probe/scheduler.js';
import { parseTarget } from '../../src/probe/targets.js';

// Fake timers patch setTimeout and Date; the scheduler's default timers and this clock read them.
const clock: Clock = { now: () => Date.now() };

function job(name: string, timeoutMs = 100): ProbeJob {
  return { node: 'i-a1', target: parseTarget(`tcp://198.51.100.10:${name}`), vantage: 'self', timeoutMs };
}

/** A fake probe taking `durationMs(target)` of fake time; records concurrency and overlap. */
function fakeProbe(durationMs: (target: string) => number, ok = true) {
  const running = new Map<string, number>();
  const log = { starts: [] as { target: string; at: number }[], maxConcurrent: 0, overlaps: 0, aborted: 0 };
  let concurrent = 0;
  const probe: ProbeFn = (target, opts) =>
    new Promise((resolve) => {
      const start = Date.now();
      log.starts.push({ target: target.name, at: start });
      if ((running.get(target.name) ?? 0) > 0) log.overlaps++;
      running.set(target.name, (running.get(target.name) ?? 0) + 1);
      concurrent++;
      log.maxConcurrent = Math.max(log.maxConcurrent, concurrent);
      const finish = (r: { ok: boolean; error?: string }) => {
        clearTimeout(t);
        concurrent--;
        running.set(target.name, running.get(target.name)! - 1);
        resolve({ ...r, latencyMs: Date.now() - start });
      };
      const t = setTimeout(() => finish({ ok }), durationMs(target.name)); // ignores its timeout: the scheduler must enforce it
      opts.signal?.addEventListener('abort', () => {
        log.aborted++;
        finish({ ok: false, error: 'aborted' });
      });
    });
  return { probe, log };
}

describe('createProbeScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('probes every target once per interval (default 200 ms) with jittered starts, emitting probe signals', async () => {
    const { probe, log } = fakeProbe(() => 10);
    const signals: ProbeResultSignal[] = [];
    const jitter = [0.1, 0.6];
    const s = createProbeScheduler({ jobs: [job('1'), job('2')], clock, probe, onSignal: (x) => signals.push(x), random: () => jitter.shift()! });
    s.start();
    await vi.advanceTimersByTimeAsync(1_000);
    await s.stop();
    const starts1 = log.starts.filter((x) => x.target.endsWith(':1')).map((x) => x.at - 1_000_000);
    const starts2 = log.starts.filter((x) => x.target.endsWith(':2')).map((x) => x.at - 1_000_000);
    expect(starts1).toEqual([20, 220, 420, 620, 820]);
    expect(starts2).toEqual([120, 320, 520, 720, 920]);
    expect(signals).toHaveLength(10);
    expect(signals[0]).toEqual({ kind: 'probe', node: 'i-a1', target: 'tcp://198.51.100.10:1', vantage: 'self', ok: true, latencyMs: 10, at: 1_000_020 });
  });

  it('never overlaps a target: a slow probe pushes the next one back', async () => {
    const { probe, log } = fakeProbe(() => 350);
    const s = createProbeScheduler({ jobs: [job('1', 1_000)], clock, probe, onSignal: () => undefined, random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(1_100);
    await s.stop();
    expect(log.overlaps).toBe(0);
    expect(log.starts.map((x) => x.at - 1_000_000)).toEqual([0, 350, 700, 1050]);
  });

  it('a per-target timeout ends the probe as a failure and keeps the cadence', async () => {
    const { probe } = fakeProbe(() => 10_000);
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1', 50)], clock, probe, onSignal: (x) => signals.push(x), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(450);
    await s.stop();
    expect(signals.map((x) => [x.ok, x.latencyMs, x.at - 1_000_000])).toEqual([
      [false, 50, 0],
      [false, 50, 200],
      [false, 50, 400],
    ]);
  });

  it('bounds concurrency: with 5 jobs and concurrency 2, never more than 2 probes at once, all still probed', async () => {
    const { probe, log } = fakeProbe(() => 60);
    const jobs = ['1', '2', '3', '4', '5'].map((n) => job(n));
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs, clock, probe, onSignal: (x) => signals.push(x), concurrency: 2, random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(1_000);
    await s.stop();
    expect(log.maxConcurrent).toBe(2);
    expect(new Set(signals.map((x) => x.target)).size).toBe(5);
    expect(log.overlaps).toBe(0);
  });

  it('stop() aborts in-flight probes, emits nothing after, and schedules nothing more', async () => {
    const { probe, log } = fakeProbe(() => 150);
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1'), job('2')], clock, probe, onSignal: (x) => signals.push(x), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(s.inFlight).toBe(2);
    await s.stop();
    expect(log.aborted).toBe(2);
    expect(s.inFlight).toBe(0);
    expect(s.running).toBe(false);
    expect(signals).toHaveLength(0);
    const before = log.starts.length;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log.starts.length).toBe(before);
    expect(vi.getTimerCount()).toBe(0);
    await s.stop(); // idempotent
  });

  it('a throwing probe is reported and the job keeps running', async () => {
    let n = 0;
    const probe: ProbeFn = async () => {
      if (n++ === 0) throw new Error('bug');
      return { ok: true, latencyMs: 1 };
    };
    const errors: unknown[] = [];
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1')], clock, probe, onSignal: (x) => signals.push(x), onError: (e) => errors.push(e), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(500);
    await s.stop();
    expect(errors).toHaveLength(1);
    expect(signals.length).toBeGreaterThanOrEqual(2);
  });

  it('rejects a bad interval or concurrency', () => {
    expect(() => createProbeScheduler({ jobs: [], clock, onSignal: () => undefined, intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => createProbeScheduler({ jobs: [], clock, onSignal: () => undefined, concurrency: 0 })).toThrow(/concurrency/);
  });
});
