// Resource use of running processes from /proc: resident memory (VmRSS) and CPU time
// (utime + stime, in clock ticks). A sampler reads a set of pids every so often and
// reports, per pid, the maximum RSS and the mean CPU as a percentage of one core.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcReading {
  /** Resident set size, KiB. */
  rssKb: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: CPU of its children it has waited for (e.g. commands it runs), clock ticks. */
  childCpuTicks: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux when getconf is missing). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** One reading of a process, or undefined when it has gone. */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    // Fields after the command name (which may hold spaces) start at field 3: utime is 14,
    // stime 15, cutime 16, cstime 17.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb: rss ? Number(rss[1]) : 0, cpuTicks: Number(rest[11]) + Number(rest[12]), childCpuTicks: Number(rest[13]) + Number(rest[14]) };
  } catch {
    return undefined;
  }
}

export interface ProcUsage {
  pid: number;
  samples: number;
  maxRssMb: number;
  /** CPU time over the sampled span, as a percentage of one core. */
  cpuPctMean: number;
  /** The same for the children it ran and reaped in the span. */
  childCpuPctMean: number;
  spanMs: number;
}

/** Samples pids every intervalMs until stop(); stop() returns each pid's usage. */
export function sampleProcesses(pids: readonly number[], intervalMs = 1000) {
  const first = new Map<number, { at: number; r: ProcReading }>();
  const last = new Map<number, { at: number; r: ProcReading }>();
  const maxRss = new Map<number, number>();
  const count = new Map<number, number>();
  const tick = () => {
    const at = performance.now();
    for (const pid of pids) {
      const r = readProc(pid);
      if (!r) continue;
      if (!first.has(pid)) first.set(pid, { at, r });
      last.set(pid, { at, r });
      maxRss.set(pid, Math.max(maxRss.get(pid) ?? 0, r.rssKb));
      count.set(pid, (count.get(pid) ?? 0) + 1);
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop(): ProcUsage[] {
      clearInterval(timer);
      tick();
      return pids.map((pid) => {
        const a = first.get(pid);
        const b = last.get(pid);
        const spanMs = a && b ? b.at - a.at : 0;
        const pct = (ticks: number) => (spanMs > 0 ? Math.round(((ticks * 1000) / clockTicksPerSecond() / spanMs) * 10_000) / 100 : 0);
        return {
          pid,
          samples: count.get(pid) ?? 0,
          maxRssMb: Math.round(((maxRss.get(pid) ?? 0) / 1024) * 10) / 10,
          cpuPctMean: a && b ? pct(b.r.cpuTicks - a.r.cpuTicks) : 0,
          childCpuPctMean: a && b ? pct(b.r.childCpuTicks - a.r.childCpuTicks) : 0,
          spanMs: Math.round(spanMs),
        };
      });
    },
  };
}
