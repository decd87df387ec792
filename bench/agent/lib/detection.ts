// Detection time: from a fault on NAT x to the first /status of its peer's agent that
// shows x unhealthy. Two faults:
//   hung  forwarding off in x (sysctl net.ipv4.ip_forward=0), the instance still runs;
//         restored after each run, then x must be healthy again in the peer's view.
//   kill  the lab's chaos kill (links down, every process killed, EC2 state stopped after
//         killStateDelayMs); the ASG replaces x, and the next run uses the replacement
//         with both agents restarted.
// Each run records the wall time (the poll that first saw it, every pollMs) and the
// verdict's own `since` (when the peer's tracker made the transition), both from the
// fault's start. A run that sees nothing within timeoutMs is 'not detected'.

import type { AgentLab } from './agent-lab.js';
import { startStatusStream, verdictOf, type StatusStream } from './status-stream.js';

export interface DetectionRun {
  run: number;
  node: string;
  /** Poll that first saw the unhealthy verdict − fault start; undefined: not detected. */
  wallMs?: number;
  /** The verdict's `since` − fault start. */
  sinceMs?: number;
  /** How long injecting the fault took. */
  injectMs: number;
  reason?: string;
}

export interface DetectionOptions {
  runs: number;
  timeoutMs: number;
  pollMs: number;
  /** How long to wait for a healthy pair before a run. */
  settleTimeoutMs: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `viewer`'s agent sees every node healthy; throws with the agents' logs after timeoutMs. */
export async function waitHealthy(al: AgentLab, stream: StatusStream, viewer: string, nodes: string[], timeoutMs: number): Promise<void> {
  const ok = (l = stream.latest()) => nodes.every((n) => verdictOf(l, n)?.state === 'healthy');
  if (ok()) return;
  const seen = await stream.next((l) => ok(l), timeoutMs);
  if (seen) return;
  const last = stream.latest();
  const logs = nodes.map((n) => `--- ${n}:\n${al.agent(n)?.log().slice(-2_000) ?? '(no agent)'}`).join('\n');
  throw new Error(`${viewer} did not see ${nodes.join(', ')} healthy within ${timeoutMs} ms; last status: ${JSON.stringify(last)}\n${logs}`);
}

async function observe(stream: StatusStream, node: string, started: number, opts: DetectionOptions): Promise<Pick<DetectionRun, 'wallMs' | 'sinceMs' | 'reason'>> {
  const seen = await stream.next((l) => verdictOf(l, node)?.state === 'unhealthy', opts.timeoutMs);
  const v = verdictOf(seen, node);
  if (!seen || !v) {
    const last = verdictOf(stream.latest(), node);
    return { reason: `last verdict: ${last ? `${last.state} (${last.reason ?? ''})` : 'none'}` };
  }
  return { wallMs: seen.t - started, sinceMs: v.since - started, ...(v.reason ? { reason: v.reason } : {}) };
}

export async function measureHung(al: AgentLab, opts: DetectionOptions): Promise<DetectionRun[]> {
  const [x, viewer] = al.runningNats() as [string, string];
  al.start(x, viewer);
  al.start(viewer, x);
  const stream = startStatusStream(al.dp, viewer, { intervalMs: opts.pollMs, maxMs: 4 * 3_600_000 });
  const runs: DetectionRun[] = [];
  try {
    for (let i = 1; i <= opts.runs; i++) {
      await waitHealthy(al, stream, viewer, [x, viewer], opts.settleTimeoutMs);
      const started = Date.now();
      const r = await al.dp.exec(x, ['sysctl', '-qw', 'net.ipv4.ip_forward=0'], { timeoutMs: 5_000 });
      if (r.code !== 0) throw new Error(`sysctl in ${x}: ${r.stderr}`);
      const injectMs = Date.now() - started;
      const seen = await observe(stream, x, started, opts);
      runs.push({ run: i, node: x, injectMs, ...seen });
      opts.log(`hung ${i}/${opts.runs}: ${seen.wallMs === undefined ? `not detected (${seen.reason})` : `${seen.wallMs} ms (since ${seen.sinceMs} ms)`}`);
      const back = await al.dp.exec(x, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'], { timeoutMs: 5_000 });
      if (back.code !== 0) throw new Error(`sysctl in ${x}: ${back.stderr}`);
    }
  } finally {
    stream.stop();
    await al.dp.exec(x, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'], { timeoutMs: 5_000 }).catch(() => undefined);
    await Promise.all([al.stop(x), al.stop(viewer)]);
  }
  return runs;
}

/** The ASG's replacement for a killed node: a running zone-a NAT other than the known ones, with its namespace up. */
async function replacement(al: AgentLab, known: Set<string>, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const id = al.runningNats().find((i) => !known.has(i));
    if (id) {
      // exec throws at once while the data plane has no namespace for it yet.
      const r = await Promise.resolve()
        .then(() => al.dp.exec(id, ['true'], { timeoutMs: 5_000 }))
        .catch(() => undefined);
      if (r?.code === 0) return id;
    }
    await sleep(250);
  }
  throw new Error(`no replacement NAT in zone a within ${timeoutMs} ms`);
}

export async function measureKill(al: AgentLab, opts: DetectionOptions): Promise<DetectionRun[]> {
  const nats = al.runningNats() as [string, string];
  const viewer = nats[1];
  let x = nats[0];
  const known = new Set([x, viewer]);
  const stream = startStatusStream(al.dp, viewer, { intervalMs: opts.pollMs, maxMs: 4 * 3_600_000 });
  const runs: DetectionRun[] = [];
  try {
    for (let i = 1; i <= opts.runs; i++) {
      await Promise.all([al.stop(x), al.stop(viewer)]);
      al.start(x, viewer);
      al.start(viewer, x);
      await waitHealthy(al, stream, viewer, [x, viewer], opts.settleTimeoutMs);
      const started = Date.now();
      await al.lab.chaos.run({ verb: 'kill', instance: x });
      const injectMs = Date.now() - started;
      const seen = await observe(stream, x, started, opts);
      runs.push({ run: i, node: x, injectMs, ...seen });
      opts.log(`kill ${i}/${opts.runs}: ${seen.wallMs === undefined ? `not detected (${seen.reason})` : `${seen.wallMs} ms (since ${seen.sinceMs} ms; ${seen.reason})`}`);
      await al.stop(x);
      if (i < opts.runs) {
        x = await replacement(al, known, 60_000);
        known.add(x);
      }
    }
  } finally {
    stream.stop();
    await Promise.all([al.stop(x), al.stop(viewer)]);
  }
  return runs;
}
