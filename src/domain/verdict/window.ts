// The last n probe results of one (node, target, vantage), in time order.
import type { Timestamp } from '../signals.js';

export interface ProbeSample {
  ok: boolean;
  at: Timestamp;
}

/** What the verdict rules need to know about one window at one moment. */
export interface WindowStats {
  /** Results held (at most the window size). */
  size: number;
  failures: number;
  /** Passes at the end of the window, counted back from the latest result. */
  passStreak: number;
  /** Failures at the end of the window, counted back from the latest result. */
  failStreak: number;
  latestAt: Timestamp;
}

export class ProbeWindow {
  private readonly samples: ProbeSample[] = [];

  constructor(private readonly capacity: number) {}

  /** Adds a result, keeping time order when results arrive slightly out of order. */
  add(sample: ProbeSample): void {
    let i = this.samples.length;
    while (i > 0 && (this.samples[i - 1]?.at ?? 0) > sample.at) i--;
    this.samples.splice(i, 0, sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  stats(): WindowStats {
    let failures = 0;
    let passStreak = 0;
    let failStreak = 0;
    let streakOpen = true;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const ok = this.samples[i]?.ok ?? false;
      if (!ok) failures++;
      // The latest result decides which streak is open; the first change closes it.
      if (streakOpen && ok && failStreak === 0) passStreak++;
      else if (streakOpen && !ok && passStreak === 0) failStreak++;
      else streakOpen = false;
    }
    return {
      size: this.samples.length,
      failures,
      passStreak,
      failStreak,
      latestAt: this.samples[this.samples.length - 1]?.at ?? Number.NEGATIVE_INFINITY,
    };
  }
}
