// Checks for settings changed at run time (chaos verbs pass user input): a bad
// value is a RangeError that names the setting, and nothing changes.

import type { BucketSpec } from './token-bucket.js';

export function assertDuration(ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${what} must be a number of milliseconds >= 0, got ${ms}`);
}

export function assertFraction(rate: number, what: string): void {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`${what} must be between 0 and 1, got ${rate}`);
}

export function assertBucket(spec: BucketSpec, what: string): void {
  if (!Number.isInteger(spec.burst) || spec.burst < 1) throw new RangeError(`${what}.burst must be an integer >= 1, got ${spec.burst}`);
  if (!Number.isFinite(spec.refillPerSecond) || spec.refillPerSecond <= 0)
    throw new RangeError(`${what}.refillPerSecond must be a number > 0, got ${spec.refillPerSecond}`);
}
