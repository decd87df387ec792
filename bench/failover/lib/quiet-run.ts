// Runs where nothing is wrong with any NAT, so every failover is a false one:
//   no-fault       a fixed observation window
//   target-outage  every echo target (all the probe targets there are: the lab's whole
//                  internet) stops answering for downMs, then `afterMs` more of watching
// Failovers are egress moves of zone a; mutating EC2 calls come from the request log.
import { mutatingEc2Calls } from './api-calls.js';
import type { BenchLab } from './bench-lab.js';
import { watchFailovers } from './failover-watch.js';
import type { RunResult } from './outage-run.js';
import type { Policy } from './policies/policy.js';
import { sleep } from './wait.js';

export interface QuietRunOptions {
  windowMs: number;
  /** target-outage only: how long the targets stay down (the rest of the window is watched after). */
  downMs?: number;
}

export async function runQuiet(bl: BenchLab, policy: Policy, scenario: 'no-fault' | 'target-outage', run: number, opts: QuietRunOptions): Promise<RunResult> {
  await policy.ready();
  const targets = bl.topology.internet.echoTargets;
  const watch = watchFailovers(bl);
  const t0 = Date.now();
  try {
    if (scenario === 'target-outage') {
      for (const ip of targets) await bl.lab.chaos.run({ verb: 'target-down', ip });
      try {
        await sleep(opts.downMs ?? opts.windowMs);
      } finally {
        for (const ip of targets) await bl.lab.chaos.run({ verb: 'target-up', ip });
      }
      await sleep(Math.max(0, opts.windowMs - (Date.now() - t0)));
    } else {
      await sleep(opts.windowMs);
    }
  } finally {
    watch.stop();
  }
  const t1 = Date.now();
  const calls = mutatingEc2Calls(bl.lab, t0, t1);
  const moves = watch.moves().map((m) => ({ atMs: m.at - t0, from: m.from, to: m.to }));
  return { run, recovered: true, failovers: moves.length, moves, mutatingCalls: calls.total, callsByAction: calls.byAction, windowMs: t1 - t0 };
}
