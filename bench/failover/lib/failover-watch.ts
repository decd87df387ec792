// Counts failovers as the VPC shows them: each time zone a's egress (the instance its
// private tables' default route reaches) changes from one instance to another. A move
// passes through "nowhere" (an ENI detached, then attached): that is not counted twice.
import type { BenchLab } from './bench-lab.js';

export interface FailoverWatch {
  /** Egress moves seen so far: [epoch ms, from, to]. */
  moves(): { at: number; from: string; to: string }[];
  stop(): void;
}

export function watchFailovers(bl: BenchLab): FailoverWatch {
  let last = bl.egressInstance();
  const moves: { at: number; from: string; to: string }[] = [];
  const off = bl.lab.store.onChange(() => {
    const now = bl.egressInstance();
    if (now === undefined || now === last) return;
    if (last !== undefined) moves.push({ at: Date.now(), from: last, to: now });
    last = now;
  });
  return { moves: () => [...moves], stop: off };
}
