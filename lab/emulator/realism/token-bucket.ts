// A token bucket as EC2 describes its request throttling: it starts full
// (`burst` tokens), each call takes one, and tokens come back continuously at
// `refillPerSecond` up to `burst`. Time comes from the injected Clock.

import type { Clock } from '../clock.js';

export interface BucketSpec {
  burst: number;
  refillPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly clock: Clock,
    readonly spec: BucketSpec,
  ) {
    this.tokens = spec.burst;
    this.updatedAt = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.spec.burst, this.tokens + (elapsed * this.spec.refillPerSecond) / 1000);
    this.updatedAt = now;
  }

  /** Takes `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  tryTake(cost = 1): boolean {
    this.refill();
    // A small epsilon absorbs float error: 5/s for exactly 200 ms must yield a whole token.
    if (this.tokens + 1e-9 < cost) return false;
    this.tokens = Math.max(0, this.tokens - cost);
    return true;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }
}
