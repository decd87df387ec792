// The skeleton both baselines share: one round after another in the background until
// stopped. A round decides (and acts); the loop then pauses as long as the round says.
// ready() waits for a healthy round that started after it was called, so the baseline
// watches the zone as it is now, not as it was when the round began.
import { sleep, waitFor } from '../wait.js';

export type RoundResult = { outcome: 'healthy' | 'acted' | 'idle'; pauseMs: number };

export interface DecisionLoop {
  /** Resolves once a round that started after this call ended healthy (bounded). */
  nextHealthyRound(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Errors of a round are logged and the loop goes on after a second. */
export function startDecisionLoop(name: string, round: (isRunning: () => boolean) => Promise<RoundResult>, log: (line: string) => void): DecisionLoop {
  let running = true;
  let started = 0;
  /** The start number of the latest healthy round. */
  let lastHealthy = 0;
  const isRunning = () => running;
  const done = (async () => {
    while (running) {
      const n = ++started;
      let pauseMs = 1_000;
      try {
        const r = await round(isRunning);
        if (r.outcome === 'healthy') lastHealthy = n;
        pauseMs = r.pauseMs;
      } catch (err) {
        log(`${name}: round failed: ${(err as Error).message}`);
      }
      if (running) await sleep(pauseMs);
    }
  })();
  return {
    nextHealthyRound: async (timeoutMs) => {
      const after = started;
      await waitFor(`${name}: a healthy round`, timeoutMs, () => (lastHealthy > after ? true : undefined), 50);
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}
