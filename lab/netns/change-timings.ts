// How long each store change took to reach the kernel: announced changes wait as
// pending entries until the reconcile pass that covers them finishes, then are stamped.

import type { LabChange } from '../emulator/store.js';

/** One LabChange and when the kernel reflected it. */
export interface ChangeTiming {
  seq: number;
  kind: LabChange['kind'];
  id: string;
  /** Epoch ms when the store announced the change. */
  changedAt: number;
  /** Epoch ms when the reconcile pass that covered it finished. */
  appliedAt: number;
  latencyMs: number;
  /** False when a command in that pass failed. */
  ok: boolean;
}

/** A change announced but not yet covered by a finished pass. */
interface PendingChange {
  seq: number;
  kind: LabChange['kind'];
  id: string;
  changedAt: number;
  perf: number;
}

const TIMING_LIMIT = 20_000;

/** The id of the object a change is about. */
function changeId(c: LabChange): string {
  switch (c.kind) {
    case 'route-table':
      return c.routeTableId;
    case 'instance-launched':
    case 'instance-state':
      return c.instanceId;
    case 'eni-created':
    case 'eni-deleted':
    case 'eni-attachment':
    case 'source-dest-check':
      return c.networkInterfaceId;
    case 'address':
      return c.allocationId;
    case 'asg':
      return c.autoScalingGroupName;
  }
}

export class ChangeTimings {
  private readonly entries: ChangeTiming[] = [];
  private pending: PendingChange[] = [];
  private seq = 0;

  /** Notes a change as the store announces it. */
  announce(c: LabChange): void {
    this.pending.push({ seq: ++this.seq, kind: c.kind, id: changeId(c), changedAt: Date.now(), perf: performance.now() });
  }

  /** Forgets the change announced last (it has nothing in the kernel). */
  withdrawLast(): void {
    this.pending.pop();
  }

  /** The changes announced since the last call: those the starting pass covers. */
  takePending(): PendingChange[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  /** Stamps these changes as applied now. */
  record(changes: PendingChange[], ok: boolean): void {
    const appliedPerf = performance.now();
    const appliedAt = Date.now();
    for (const c of changes)
      this.entries.push({ seq: c.seq, kind: c.kind, id: c.id, changedAt: c.changedAt, appliedAt, latencyMs: appliedPerf - c.perf, ok });
  }

  /** Forgets the oldest timings beyond the limit. */
  trim(): void {
    if (this.entries.length > TIMING_LIMIT) this.entries.splice(0, this.entries.length - TIMING_LIMIT);
  }

  /** Oldest first. */
  list(): ChangeTiming[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries.length = 0;
  }
}
