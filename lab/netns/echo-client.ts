// The lab's echo client, run inside an instance namespace
// (`ip netns exec <ns> node dist/lab/netns/echo-client.js …`).
//
// One-shot: asks an echo target which source address it saw; prints that address
// (or the whole answer with --json) and exits 0, or exits 1 on timeout.
//
//   echo-client --target 198.51.100.10 [--port 7] [--proto udp|tcp] [--timeout 1000] [--json]
//
// Stream: sends a UDP probe every --interval ms for --duration ms (bounded), then
// prints a summary line (lost count, longest gap, seen addresses and changes).
// With --per-probe, one JSON line per probe first (as each is answered or given up).
//
//   echo-client --target 198.51.100.10 --stream --interval 20 --duration 5000 [--per-probe] [--loss-after 1000]
//
// Exit codes: 0 ok, 1 no answer (one-shot), 2 usage error.

import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { inHostNetns } from './host-guard.js';
import { summarizeProbes, type ProbeRecord } from './probe-stats.js';

const MAX_DURATION_MS = 600_000;
const MAX_PROBES = 1_000_000;

function usage(msg: string): never {
  process.stderr.write(
    `echo-client: ${msg}\nusage: echo-client --target <ip> [--port 7] [--proto udp|tcp] [--timeout ms] [--json]\n` +
      `       echo-client --target <ip> [--port 7] --stream --interval <ms> --duration <ms> [--per-probe] [--loss-after ms]\n`,
  );
  process.exit(2);
}

function num(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) usage(`--${name} must be a number between ${min} and ${max}, got "${v}"`);
  return n;
}

interface Reply {
  seen: string;
  port: number;
  target: string;
  proto: string;
  echo?: string;
}

function oneShotUdp(target: string, port: number, timeoutMs: number): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (r: Reply | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => undefined);
    sock.on('message', (msg) => {
      try {
        done(JSON.parse(msg.toString('utf8')) as Reply);
      } catch {
        // Not an echo answer; keep waiting.
      }
    });
    // A send error (EHOSTUNREACH, ENETUNREACH…) counts like a lost packet: wait out the timeout.
    sock.send(JSON.stringify({ seq: 0 }), port, target, () => undefined);
  });
}

function oneShotTcp(target: string, port: number, timeoutMs: number): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target, port });
    let buf = '';
    const done = (r: Reply | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => undefined);
    socket.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(buf.slice(0, nl)) as Reply);
      } catch {
        done(undefined);
      }
    });
  });
}

async function stream(target: string, port: number, intervalMs: number, durationMs: number, perProbe: boolean, lossAfterMs: number): Promise<void> {
  const count = Math.min(MAX_PROBES, Math.max(1, Math.floor(durationMs / intervalMs)));
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => undefined);
  const start = performance.now();
  const probes: ProbeRecord[] = [];
  const resolved = new Set<number>();
  const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  sock.on('message', (msg) => {
    const now = performance.now() - start;
    let r: Reply;
    let seq: number;
    try {
      r = JSON.parse(msg.toString('utf8')) as Reply;
      seq = (JSON.parse(r.echo ?? '{}') as { seq?: number }).seq ?? -1;
    } catch {
      return;
    }
    const p = probes[seq];
    if (!p || resolved.has(seq)) return;
    // Late answers (after the loss deadline) stay lost: they are outside the outage budget.
    if (now - p.sentAt > lossAfterMs) return;
    p.receivedAt = now;
    p.seen = r.seen;
    resolved.add(seq);
    if (perProbe) print({ seq, sentAt: Math.round(p.sentAt * 100) / 100, rttMs: Math.round((now - p.sentAt) * 100) / 100, seen: r.seen, port: r.port });
  });
  await new Promise<void>((r) => sock.bind(0, r));
  const flushLost = (now: number) => {
    for (const p of probes) {
      if (resolved.has(p.seq) || now - p.sentAt <= lossAfterMs) continue;
      resolved.add(p.seq);
      if (perProbe) print({ seq: p.seq, sentAt: Math.round(p.sentAt * 100) / 100, lost: true });
    }
  };
  for (let seq = 0; seq < count; seq++) {
    const due = seq * intervalMs;
    const wait = due - (performance.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now() - start;
    probes.push({ seq, sentAt });
    sock.send(JSON.stringify({ seq, t: Math.round(sentAt) }), port, target, () => undefined);
    if (perProbe && seq % 10 === 0) flushLost(performance.now() - start);
  }
  // Give the last probes their chance to come back.
  await new Promise((r) => setTimeout(r, lossAfterMs));
  flushLost(Number.POSITIVE_INFINITY);
  sock.close();
  print(summarizeProbes(target, intervalMs, durationMs, probes));
}

async function main(): Promise<void> {
  if (inHostNetns()) {
    process.stderr.write(`echo-client: refusing to run outside a named network namespace (this would send lab traffic to the real network); run it inside a lab namespace: ip netns exec <ns> …\n`);
    process.exit(2);
  }
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      port: { type: 'string', default: '7' },
      proto: { type: 'string', default: 'udp' },
      timeout: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
      interval: { type: 'string', default: '20' },
      duration: { type: 'string', default: '5000' },
      'per-probe': { type: 'boolean', default: false },
      'loss-after': { type: 'string', default: '1000' },
    },
    strict: true,
  });
  const target = values.target;
  if (!target || net.isIPv4(target) === false) usage('--target must be an IPv4 address');
  const port = num(values.port, 'port', 1, 65535);
  if (values.stream) {
    const interval = num(values.interval, 'interval', 1, 60_000);
    const duration = num(values.duration, 'duration', interval, MAX_DURATION_MS);
    const lossAfter = num(values['loss-after'], 'loss-after', 1, 60_000);
    await stream(target, port, interval, duration, values['per-probe'], lossAfter);
    return;
  }
  const timeout = num(values.timeout, 'timeout', 1, 60_000);
  if (values.proto !== 'udp' && values.proto !== 'tcp') usage('--proto must be udp or tcp');
  const r = values.proto === 'tcp' ? await oneShotTcp(target, port, timeout) : await oneShotUdp(target, port, timeout);
  if (!r) {
    process.stderr.write(`echo-client: no answer from ${target}:${port}/${values.proto} within ${timeout} ms\n`);
    process.exit(1);
  }
  process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${r.seen}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`echo-client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
