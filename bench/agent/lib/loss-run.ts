// False verdicts under probe loss, and the agents' resource use at default intervals.
// Both zone-a agents run; after they are healthy, a steady window (no loss) and then a
// loss window (pct percent of every probe dropped, see probe-loss.ts). Each agent's
// /status is polled every second; every change of any verdict to 'unhealthy' (or
// 'internet-unreachable') it shows is counted, and so are the increases of
// natkeeper_verdict_transitions_total{to="unhealthy"} in /metrics across the window.
// Each agent process's RSS and CPU are sampled from /proc every second, per window.

import { sampleProcesses, type ProcUsage } from '../../lib/proc-sample.js';
import type { AgentLab } from './agent-lab.js';
import { waitHealthy } from './detection.js';
import { probeLossDrops, setProbeLoss } from './probe-loss.js';
import { startStatusStream, type StatusStream } from './status-stream.js';

export interface WindowResult {
  seconds: number;
  lossPct: number;
  /** Verdict changes to unhealthy seen in /status (any viewer, any node). */
  unhealthySeen: number;
  internetUnreachableSeen: number;
  /** Increase of natkeeper_verdict_transitions_total{to="unhealthy"}, summed over the agents. */
  unhealthyTransitionsMetric: number;
  /** Probe SYNs the loss rule dropped. */
  dropped: number;
  usage: (ProcUsage & { node: string })[];
  events: string[];
}

export interface LossResult {
  steady: WindowResult;
  loss: WindowResult;
}

const FETCH = "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })";

async function unhealthyTransitions(al: AgentLab, id: string): Promise<number> {
  const r = await al.dp.exec(id, [process.execPath, '-e', FETCH, 'http://127.0.0.1:9469/metrics'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`/metrics of ${id}: ${r.stderr}`);
  let n = 0;
  for (const line of r.stdout.split('\n'))
    if (line.startsWith('natkeeper_verdict_transitions_total{') && /to="unhealthy"/.test(line)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

function watchVerdicts(stream: StatusStream, viewer: string, counts: { unhealthy: number; unreachable: number; events: string[] }) {
  const last = new Map<string, string>();
  return stream.each((l) => {
    for (const v of l.verdicts ?? []) {
      const before = last.get(v.node);
      last.set(v.node, v.state);
      if (before === v.state || before === undefined) continue;
      if (v.state === 'unhealthy') counts.unhealthy++;
      if (v.state === 'internet-unreachable') counts.unreachable++;
      if (v.state !== 'healthy') counts.events.push(`${new Date(l.t).toISOString()} ${viewer} sees ${v.node} ${before} -> ${v.state}: ${v.reason ?? ''}`);
    }
  });
}

async function window(al: AgentLab, nodes: string[], streams: StatusStream[], seconds: number, lossPct: number): Promise<WindowResult> {
  const counts = { unhealthy: 0, unreachable: 0, events: [] as string[] };
  const before = await Promise.all(nodes.map((n) => unhealthyTransitions(al, n)));
  const droppedBefore = await probeLossDrops(al.dp);
  if (lossPct > 0) await setProbeLoss(al.dp, lossPct);
  const offs = streams.map((s, i) => watchVerdicts(s, nodes[i]!, counts));
  const sampler = sampleProcesses(nodes.map((n) => al.agent(n)!.pid), 1_000);
  let usage: ProcUsage[];
  let dropped: number;
  try {
    await new Promise((r) => setTimeout(r, seconds * 1_000));
  } finally {
    usage = sampler.stop();
    offs.forEach((off) => off());
    dropped = (await probeLossDrops(al.dp)) - droppedBefore;
    await setProbeLoss(al.dp, 0);
  }
  const after = await Promise.all(nodes.map((n) => unhealthyTransitions(al, n)));
  return {
    seconds,
    lossPct,
    unhealthySeen: counts.unhealthy,
    internetUnreachableSeen: counts.unreachable,
    unhealthyTransitionsMetric: after.reduce((a, v, i) => a + v - before[i]!, 0),
    dropped: lossPct > 0 ? dropped : 0,
    usage: usage.map((u, i) => ({ ...u, node: nodes[i]! })),
    events: counts.events,
  };
}

export async function measureLoss(al: AgentLab, opts: { steadySeconds: number; lossSeconds: number; lossPct: number; settleTimeoutMs: number }): Promise<LossResult> {
  const nodes = al.runningNats().slice(0, 2);
  const [a, b] = nodes as [string, string];
  al.start(a, b);
  al.start(b, a);
  const maxMs = (opts.steadySeconds + opts.lossSeconds) * 1_000 + 3_600_000;
  const streams = nodes.map((n) => startStatusStream(al.dp, n, { intervalMs: 1_000, maxMs }));
  try {
    await waitHealthy(al, streams[1]!, b, nodes, opts.settleTimeoutMs);
    await waitHealthy(al, streams[0]!, a, nodes, opts.settleTimeoutMs);
    const steady = await window(al, nodes, streams, opts.steadySeconds, 0);
    const loss = await window(al, nodes, streams, opts.lossSeconds, opts.lossPct);
    return { steady, loss };
  } finally {
    streams.forEach((s) => s.stop());
    await setProbeLoss(al.dp, 0).catch(() => undefined);
    await Promise.all(nodes.map((n) => al.stop(n)));
  }
}
