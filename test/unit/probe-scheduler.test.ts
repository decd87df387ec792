import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/domain/clock.js';
import type { ProbeResultSignal } from '../../src/domain/signals.js';
import type { ProbeFn } from '../../src/probe/probes.js';
import { createProbeScheduler, maxInFlightPerJob, type ProbeJob } from '../../src/probe/scheduler.js';
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

  it('keeps the cadence when a probe overruns the interval: probes of one target overlap', async () => {
    const { probe, log } = fakeProbe(() => 350);
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1', 1_000)], clock, probe, onSignal: (x) => signals.push(x), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(1_100);
    await s.stop();
    expect(log.starts.map((x) => x.at - 1_000_000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(log.overlaps).toBeGreaterThan(0);
    expect(signals.map((x) => [x.ok, x.at - 1_000_000])).toEqual([
      [true, 0],
      [true, 200],
      [true, 400],
      [true, 600],
    ]);
    expect(s.stats().skipped).toBe(0);
  });

  it('a hung path (every probe hangs; interval 200, timeout 1000) fails every ~200 ms after the first timeout', async () => {
    const { probe } = fakeProbe(() => 60_000);
    const arrivals: { at: number; emittedAt: number; ok: boolean; latencyMs: number }[] = [];
    const s = createProbeScheduler({
      jobs: [job('1', 1_000)],
      clock,
      probe,
      intervalMs: 200,
      onSignal: (x) => arrivals.push({ at: x.at - 1_000_000, emittedAt: Date.now() - 1_000_000, ok: x.ok, latencyMs: x.latencyMs }),
      random: () => 0,
    });
    s.start();
    let maxInFlight = 0;
    for (let t = 0; t < 2_300; t += 50) {
      await vi.advanceTimersByTimeAsync(50);
      maxInFlight = Math.max(maxInFlight, s.inFlight);
    }
    await s.stop();
    // Sent at 0, 200, 400, …; each fails at its own timeout, so failures come one interval apart.
    expect(arrivals.map((x) => x.emittedAt)).toEqual([1000, 1200, 1400, 1600, 1800, 2000, 2200]);
    expect(arrivals.map((x) => x.at)).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
    expect(arrivals.every((x) => !x.ok && x.latencyMs === 1_000)).toBe(true);
    // The k = 7th failure: (k − 1) × interval + timeout = 1200 + 1000 ms after the first hung probe was sent.
    expect(arrivals[6]!.emittedAt - arrivals[0]!.at).toBe(2_200);
    expect(maxInFlight).toBeLessThanOrEqual(maxInFlightPerJob(1_000, 200));
    expect(s.stats().skipped).toBe(0);
  });

  it('the per-job in-flight bound is ceil(timeout / interval) + 1', () => {
    expect(maxInFlightPerJob(1_000, 200)).toBe(6);
    expect(maxInFlightPerJob(500, 200)).toBe(4);
    expect(maxInFlightPerJob(50, 200)).toBe(2);
  });

  it('holds the in-flight bound: a tick that finds the job at its bound is skipped, counted, and emits nothing', async () => {
    // Concurrency 1 makes probes queue behind a hung one, so the job reaches its bound (6).
    const { probe, log } = fakeProbe(() => 60_000);
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1', 1_000)], clock, probe, onSignal: (x) => signals.push(x), concurrency: 1, random: () => 0 });
    s.start();
    let maxInFlight = 0;
    for (let t = 0; t < 3_050; t += 50) {
      await vi.advanceTimersByTimeAsync(50);
      maxInFlight = Math.max(maxInFlight, s.inFlight);
    }
    const { skipped, sent, emitted } = s.stats();
    const inFlight = s.inFlight;
    await s.stop();
    expect(maxInFlight).toBe(6);
    expect(log.maxConcurrent).toBe(1);
    // Ticks at 0, 200, …, 3000: one probe sent per second (each hangs to its timeout); the rest queue up to the bound.
    expect(log.starts.map((x) => x.at - 1_000_000)).toEqual([0, 1000, 2000, 3000]);
    expect(sent).toBe(4);
    expect(emitted).toBe(3);
    expect(signals.map((x) => [x.ok, x.at - 1_000_000])).toEqual([
      [false, 0],
      [false, 1000],
      [false, 2000],
    ]);
    expect(skipped).toBeGreaterThan(0);
    // Every tick either sent a probe, is still outstanding, or was skipped; skipped ones produced no signal.
    expect(signals.length + inFlight + skipped).toBe(16);
  });

  it('emits one job’s results in send order even when a later probe completes first', async () => {
    const durations = [700, 100, 100, 50];
    let call = 0;
    const probe: ProbeFn = (_target, opts) =>
      new Promise((resolve) => {
        const d = durations[call++] ?? 50;
        const start = opts.clock.now();
        setTimeout(() => resolve({ ok: true, latencyMs: opts.clock.now() - start }), d);
      });
    const arrivals: [number, number, number][] = [];
    const s = createProbeScheduler({
      jobs: [job('1', 1_000)],
      clock,
      probe,
      onSignal: (x) => arrivals.push([x.at - 1_000_000, x.latencyMs, Date.now() - 1_000_000]),
      random: () => 0,
    });
    s.start();
    await vi.advanceTimersByTimeAsync(900);
    await s.stop();
    // [sent at, latency, emitted at]: the probes sent at 200, 400 and 600 end first but wait for the one sent at 0.
    expect(arrivals).toEqual([
      [0, 700, 700],
      [200, 100, 700],
      [400, 100, 700],
      [600, 50, 700],
      [800, 50, 850],
    ]);
  });

  it('a later probe that passes waits for an earlier one that times out', async () => {
    let call = 0;
    const probe: ProbeFn = (_target, opts) =>
      new Promise((resolve) => {
        const hang = call++ === 0;
        if (!hang) setTimeout(() => resolve({ ok: true, latencyMs: 10 }), 10);
        opts.signal?.addEventListener('abort', () => resolve({ ok: false, latencyMs: 1_000, error: 'aborted' }));
      });
    const arrivals: [boolean, number, number][] = [];
    const s = createProbeScheduler({ jobs: [job('1', 1_000)], clock, probe, onSignal: (x) => arrivals.push([x.ok, x.at - 1_000_000, Date.now() - 1_000_000]), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(1_100);
    await s.stop();
    expect(arrivals).toEqual([
      [false, 0, 1000],
      [true, 200, 1000],
      [true, 400, 1000],
      [true, 600, 1000],
      [true, 800, 1000],
      [true, 1000, 1010],
    ]);
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

  it('stop() aborts every in-flight probe of a job, drops held results, and emits nothing after', async () => {
    let call = 0;
    let aborted = 0;
    const probe: ProbeFn = (_target, opts) =>
      new Promise((resolve) => {
        const n = call++;
        if (n === 1) setTimeout(() => resolve({ ok: true, latencyMs: 5 }), 5); // ends early, held behind probe 0
        opts.signal?.addEventListener('abort', () => {
          aborted++;
          resolve({ ok: false, latencyMs: 0, error: 'aborted' });
        });
      });
    const signals: ProbeResultSignal[] = [];
    const s = createProbeScheduler({ jobs: [job('1', 1_000)], clock, probe, onSignal: (x) => signals.push(x), random: () => 0 });
    s.start();
    await vi.advanceTimersByTimeAsync(700); // sent at 0, 200, 400, 600; the one sent at 200 has ended
    expect(s.inFlight).toBe(3);
    await s.stop();
    expect(aborted).toBe(3); // the three still in flight (sent at 0, 400, 600)
    expect(s.inFlight).toBe(0);
    expect(signals).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(signals).toHaveLength(0);
    expect(call).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
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
