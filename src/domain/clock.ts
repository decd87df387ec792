// Time is injected, never read from globals in logic (DESIGN.md "Conventions").
// Implementations live outside domain/: `systemClock` and `ManualClock` in src/lease/clock.ts.

/** A source of wall-clock time in milliseconds since the Unix epoch. */
export interface Clock {
  now(): number;
}
