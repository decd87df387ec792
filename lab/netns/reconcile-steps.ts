// How a reconcile pass runs its steps: each is timed and logged; a failing step is
// logged and remembered, the pass carries on, and the whole pass is retried later.

import type { DataPlaneLog } from './dataplane-log.js';
import type { DirtyObjects, DirtySet } from './dirty-set.js';

const MAX_RETRIES = 4;

/** The steps of one pass. */
export class PassSteps {
  /** False once a step has failed. */
  ok = true;
  /** "step: error" for every failed step. */
  readonly failures: string[] = [];

  constructor(private readonly log: DataPlaneLog) {}

  async run(label: string, fn: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    try {
      await fn();
      this.log({ level: 'debug', event: 'dataplane.step', step: label, durationMs: Math.round((performance.now() - t0) * 10) / 10 });
    } catch (e) {
      this.ok = false;
      this.failures.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
      this.log({ level: 'error', event: 'dataplane.step-failed', step: label, error: e instanceof Error ? e.message : String(e) });
    }
  }
}

/**
 * After a pass with a failing step, runs the same objects again (level-triggered, so a
 * repeat is harmless) after a growing pause; gives up after a few attempts (all logged).
 */
export class PassRetry {
  private failedPasses = 0;

  /** A retry marks what the failed pass covered dirty again, then schedules a pass. */
  constructor(
    private readonly log: DataPlaneLog,
    private readonly isClosed: () => boolean,
    private readonly dirty: DirtySet,
    private readonly schedulePass: () => void,
  ) {}

  /** Reports how a pass covering `covered` went. */
  passed(ok: boolean, covered: DirtyObjects): void {
    if (ok) this.failedPasses = 0;
    else this.retryLater(covered);
  }

  private retryLater(covered: DirtyObjects): void {
    this.failedPasses++;
    if (this.failedPasses > MAX_RETRIES || this.isClosed()) {
      this.log({ level: 'error', event: 'dataplane.giving-up', attempts: this.failedPasses });
      this.failedPasses = 0;
      return;
    }
    const delay = 100 * 2 ** (this.failedPasses - 1);
    setTimeout(() => {
      if (this.isClosed()) return;
      this.dirty.restore(covered);
      this.schedulePass();
    }, delay).unref();
  }
}
