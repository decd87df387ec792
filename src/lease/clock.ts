// Clock implementations (the interface is in src/domain/clock.ts; domain stays pure).
import type { Clock } from '../domain/clock.js';

/** The host's wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to (tests, simulations). */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance: expected ms >= 0, got ${ms}`);
    this.t += ms;
  }
  set(t: number): void {
    this.t = t;
  }
}

/** A view of another clock shifted by `offsetMs` (clock skew in simulations). */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return { now: () => base.now() + offsetMs };
}
