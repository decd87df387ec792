// The client side of EC2's request throttling: a token bucket that makes callers wait
// for a token instead of being refused, sized like EC2's documented bucket for mutating
// actions (50 burst, refilled at 5 per second), so natkeeper never provokes
// RequestLimitExceeded on its own (other tools in the account share the bucket; what
// they cause is retried).
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../domain/clock.js';

export const EC2_MUTATING_BUCKET = { burst: 50, refillPerSecond: 5 } as const;

export interface ClientThrottle {
  /** Resolves when a token is taken (FIFO among waiters). */
  take(): Promise<void>;
  /** Tokens available now (fractional). */
  available(): number;
}

export function createClientThrottle(opts: { burst: number; refillPerSecond: number; clock: Clock; sleep?: (ms: number) => Promise<void> }): ClientThrottle {
  if (!(opts.burst >= 1) || !(opts.refillPerSecond > 0)) throw new RangeError(`throttle: expected burst >= 1 and refillPerSecond > 0, got ${opts.burst}, ${opts.refillPerSecond}`);
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  let tokens = opts.burst;
  let at = opts.clock.now();
  let queue: Promise<void> = Promise.resolve();
  const refill = () => {
    const now = opts.clock.now();
    tokens = Math.min(opts.burst, tokens + (Math.max(0, now - at) * opts.refillPerSecond) / 1000);
    at = now;
  };
  return {
    take() {
      const mine = queue.then(async () => {
        for (;;) {
          refill();
          if (tokens >= 1) {
            tokens -= 1;
            return;
          }
          await sleep(Math.ceil(((1 - tokens) * 1000) / opts.refillPerSecond));
        }
      });
      queue = mine;
      return mine;
    },
    available() {
      refill();
      return tokens;
    },
  };
}
