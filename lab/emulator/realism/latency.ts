// How long the lab waits before answering a call: the mutating or describe
// default, or a per-action override (chaos `api-latency ACTION MS`).

import { assertDuration } from './validate.js';

export interface LatencyDefaults {
  mutatingMs: number;
  describeMs: number;
}

export class LatencyPolicy {
  private defaults: LatencyDefaults;
  private readonly overrides = new Map<string, number>();

  constructor(defaults: LatencyDefaults) {
    this.defaults = { ...defaults };
  }

  latencyFor(action: string, mutating: boolean): number {
    return this.overrides.get(action) ?? (mutating ? this.defaults.mutatingMs : this.defaults.describeMs);
  }

  /** Sets one action's latency; undefined removes the override. */
  setActionLatency(action: string, ms: number | undefined): void {
    if (ms === undefined) {
      this.overrides.delete(action);
      return;
    }
    assertDuration(ms, `latency for ${action}`);
    this.overrides.set(action, ms);
  }

  setDefaults(change: Partial<LatencyDefaults>): void {
    if (change.mutatingMs !== undefined) assertDuration(change.mutatingMs, 'mutating latency');
    if (change.describeMs !== undefined) assertDuration(change.describeMs, 'describe latency');
    this.defaults = { ...this.defaults, ...change };
  }

  current(): LatencyDefaults & { perAction: Record<string, number> } {
    return { ...this.defaults, perAction: Object.fromEntries(this.overrides) };
  }
}
