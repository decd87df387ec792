// Bounded waiting, for the lab's demo and benches and (re-exported by test/support/async.ts)
// the tests: poll until a check returns a value, or fail naming what was awaited.

export interface UntilOptions {
  /** Poll interval (default 50 ms). */
  everyMs?: number;
  /**
   * A check that throws counts as "not yet" (an agent not listening yet, a read that failed
   * once); its last error is named if the wait times out. Default false: the error ends the wait.
   */
  retryErrors?: boolean;
}

/** Polls `fn` until it returns something other than undefined/false, and returns it; throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, opts: UntilOptions = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (!opts.retryErrors) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 50));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
