// A tiny probe simulator for the verdict tests: rounds of probes from every vantage,
// with faults decided by a function and loss drawn from a seeded generator. No mocks.
import type { Vantage } from '../../src/domain/signals.js';
import type { VerdictTracker, VerdictTransition } from '../../src/domain/verdict/index.js';

export const INTERVAL_MS = 200;
export const T0 = 1_700_000_000_000;
export const TARGETS = ['t1', 't2', 't3'];

/** Whether one probe passes: node, target, vantage, round number. */
export type Outcome = (node: string, target: string, vantage: Vantage, round: number) => boolean;

export const allPass: Outcome = () => true;

export { seeded } from '../support/prng.js';

export function vantagesOf(node: string, nodes: readonly string[]): Vantage[] {
  return ['self', ...nodes.filter((n) => n !== node).map((n): Vantage => `peer:${n}`)];
}

export const at = (round: number): number => T0 + round * INTERVAL_MS;

export interface Sim {
  tracker: VerdictTracker;
  nodes: readonly string[];
  targets?: readonly string[];
}

/** Feeds rounds [from, to) and returns every transition they caused. */
export function run(sim: Sim, from: number, to: number, outcome: Outcome): VerdictTransition[] {
  const out: VerdictTransition[] = [];
  const targets = sim.targets ?? TARGETS;
  for (let round = from; round < to; round++) {
    for (const node of sim.nodes) {
      for (const target of targets) {
        for (const vantage of vantagesOf(node, sim.nodes)) {
          const ok = outcome(node, target, vantage, round);
          out.push(
            ...sim.tracker.observe({ kind: 'probe', node, target, vantage, ok, latencyMs: ok ? 3 : 1000, at: at(round) }),
          );
        }
      }
    }
  }
  return out;
}

export function states(tracker: VerdictTracker, now: number): Record<string, string> {
  return Object.fromEntries(tracker.verdicts(now).map((v) => [v.node, v.state]));
}
