// A serial queue for kernel operations: one job at a time, in order. A failing
// job is logged and the queue carries on; settled() resolves once it is empty.

export class OpQueue {
  private readonly jobs: { label: string; run: () => Promise<void> }[] = [];
  private running = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly onError: (label: string, error: unknown) => void) {}

  push(label: string, run: () => Promise<void>): void {
    this.jobs.push({ label, run });
    if (!this.running) void this.drain();
  }

  /** Runs fn in the queue and hands back its result (or its error) to the caller. */
  run<T>(label: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.push(label, async () => {
        try {
          resolve(await fn());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  get idle(): boolean {
    return !this.running && this.jobs.length === 0;
  }

  settled(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
        try {
          await job.run();
        } catch (e) {
          this.onError(job.label, e);
        }
      }
    } finally {
      this.running = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }
}
