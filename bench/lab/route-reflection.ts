// API-to-kernel route reflection: how long after a ReplaceRoute answer the
// router namespace's kernel table holds the new route. N ReplaceRoute calls go
// through the lab's EC2 API (or, with --store, straight to the store), one at a
// time, alternating the zone-a private table's default route between NAT a1 and
// NAT a2. A long-lived `ip -n <router> monitor route` timestamps each kernel
// route change on arrival, independently of the data plane's own bookkeeping
// (reported alongside). Target: p99 <= 50 ms. Needs root (network namespaces).
//
//   node dist/bench/lab/route-reflection.js [--changes 200] [--store]
//
// Prints a table and writes bench/out/lab/route-reflection.json.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiServer } from '../../lab/emulator/api-server.js';
import { systemClock } from '../../lab/emulator/clock.js';
import { ec2Service } from '../../lab/emulator/ec2/service.js';
import { DataPlane, canUseNetns, teardownLab } from '../../lab/netns/dataplane.js';
import { randomPrefix } from '../../lab/netns/names.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { isMainModule, numberFlag } from '../lib/cli.js';

export interface ReflectionOptions {
  /** ReplaceRoute calls (default 200, at most 5000). */
  changes?: number;
  /** Change the store directly instead of calling the API. */
  viaStore?: boolean;
  /** Give up on one change after this long (default 2000 ms). */
  perChangeTimeoutMs?: number;
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ReflectionResult {
  mode: 'api' | 'store';
  changes: number;
  observed: number;
  missed: number;
  /** Kernel route seen − API answer received (negative: the kernel had it before the client read the answer). */
  fromAnswerMs: Stats;
  /** Kernel route seen − request sent. */
  fromRequestMs: Stats;
  /** The API call itself (request sent → answer read). */
  apiCallMs: Stats;
  /** The data plane's own bookkeeping for the same changes (store change → kernel batch returned). */
  dataPlaneMs: Stats;
  wallMs: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : 0);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(q(0.5)), p99: r(q(0.99)), max: r(s[s.length - 1] ?? 0), mean: r(s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0) };
}

interface KernelEvent {
  at: number;
  table: number;
  line: string;
}

/** `ip monitor route` in the router namespace, each line timestamped on arrival. */
function monitorRoutes(ns: string) {
  const child = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const waiters: { match: (e: KernelEvent) => boolean; resolve: (e: KernelEvent) => void }[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const at = performance.now();
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = / table (\d+)/.exec(line);
      if (!m || line.startsWith('Deleted')) continue;
      const e = { at, table: Number(m[1]), line };
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(e)) {
          waiters[i]!.resolve(e);
          waiters.splice(i, 1);
        }
      }
    }
  });
  return {
    /** Resolves with the first matching kernel event from now on, or undefined after timeoutMs. */
    next(match: (e: KernelEvent) => boolean, timeoutMs: number): Promise<KernelEvent | undefined> {
      return new Promise((resolve) => {
        const w = {
          match,
          resolve: (e: KernelEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          resolve(undefined);
        }, timeoutMs);
        waiters.push(w);
      });
    },
    stop: () => child.kill('SIGKILL'),
  };
}

export async function run(opts: ReflectionOptions = {}): Promise<ReflectionResult> {
  const changes = Math.min(5000, Math.max(1, opts.changes ?? 200));
  const timeoutMs = opts.perChangeTimeoutMs ?? 2000;
  const can = await canUseNetns();
  if (!can.ok) throw new Error(`route-reflection needs network namespaces: ${can.reason}`);
  const topology = topologySchema.parse({
    realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, throttling: { enabled: false } },
  });
  const { store, manifest } = buildLab(topology, systemClock);
  const prefix = randomPrefix();
  const started = performance.now();
  let dp: DataPlane | undefined;
  let api: ReturnType<typeof createApiServer> | undefined;
  let monitor: ReturnType<typeof monitorRoutes> | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    dp = await DataPlane.create({ store, manifest, topology, prefix });
    const zone = manifest.zones[0]!;
    const rtb = zone.privateRouteTableIds[0]!;
    const table = dp.kernelTableOf(rtb)!;
    const targets = zone.natInstanceIds.slice(0, 2).map((id) => store.primaryInterface(id)!);
    if (targets.length < 2) throw new Error('the bench needs two NAT instances in zone a');

    let port = 0;
    if (!opts.viaStore) {
      api = createApiServer({ store, services: [ec2Service], realism: topology.realism, clock: systemClock });
      port = await api.listen(0, '127.0.0.1');
    }
    const replaceViaApi = (eniId: string) =>
      new Promise<void>((resolve, reject) => {
        const body = new URLSearchParams({
          Action: 'ReplaceRoute',
          Version: '2016-11-15',
          RouteTableId: rtb,
          DestinationCidrBlock: '0.0.0.0/0',
          NetworkInterfaceId: eniId,
        }).toString();
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/',
            agent,
            headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ReplaceRoute answered ${res.statusCode}: ${text.slice(0, 300)}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    monitor = monitorRoutes(dp.routerNs);
    await new Promise((r) => setTimeout(r, 200));
    dp.clearChangeTimings();

    const fromAnswer: number[] = [];
    const fromRequest: number[] = [];
    const apiCall: number[] = [];
    let missed = 0;
    for (let i = 0; i < changes; i++) {
      const target = targets[(i + 1) % 2]!;
      const seen = monitor.next((e) => e.table === table && e.line.includes(`via ${target.privateIpAddress} `), timeoutMs);
      const t0 = performance.now();
      if (opts.viaStore) store.replaceRoute(rtb, '0.0.0.0/0', { networkInterfaceId: target.networkInterfaceId });
      else await replaceViaApi(target.networkInterfaceId);
      const tAnswer = performance.now();
      const e = await seen;
      if (!e) {
        missed++;
        continue;
      }
      apiCall.push(tAnswer - t0);
      fromRequest.push(e.at - t0);
      fromAnswer.push(e.at - tAnswer);
      await dp.settled();
      // A little spacing, so each change is reflected on its own (no coalescing).
      await new Promise((r) => setTimeout(r, 5));
    }
    const dpTimings = dp
      .changeTimings()
      .filter((t) => t.kind === 'route-table' && t.id === rtb)
      .map((t) => t.latencyMs);
    return {
      mode: opts.viaStore ? 'store' : 'api',
      changes,
      observed: fromAnswer.length,
      missed,
      fromAnswerMs: stats(fromAnswer),
      fromRequestMs: stats(fromRequest),
      apiCallMs: stats(apiCall),
      dataPlaneMs: stats(dpTimings),
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    monitor?.stop();
    agent.destroy();
    await api?.close();
    await dp?.teardown();
    store.dispose();
    await teardownLab(prefix);
  }
}

function printTable(r: ReflectionResult): void {
  console.log(`Route reflection: ReplaceRoute ${r.mode === 'api' ? 'through the lab EC2 API' : 'on the store'} → kernel (ip monitor route)`);
  console.log(`  changes ${r.changes}, observed ${r.observed}, missed ${r.missed}, wall ${r.wallMs} ms`);
  const rows: [string, Stats][] =
    r.mode === 'api'
      ? [
          ['kernel after API answer', r.fromAnswerMs],
          ['kernel after request sent', r.fromRequestMs],
          ['API call (send → answer)', r.apiCallMs],
          ["data plane's own timing", r.dataPlaneMs],
        ]
      : [
          ['kernel after store call', r.fromRequestMs],
          ["data plane's own timing", r.dataPlaneMs],
        ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`  ${'measure'.padEnd(w)}  ${'n'.padStart(5)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'max ms'.padStart(8)}  ${'mean ms'.padStart(8)}`);
  for (const [k, s] of rows)
    console.log(`  ${k.padEnd(w)}  ${String(s.n).padStart(5)}  ${s.p50.toFixed(2).padStart(8)}  ${s.p99.toFixed(2).padStart(8)}  ${s.max.toFixed(2).padStart(8)}  ${s.mean.toFixed(2).padStart(8)}`);
  console.log(`  target p99 <= 50 ms (${r.mode === 'api' ? 'kernel after request sent' : 'kernel after store call'}): ${r.fromRequestMs.p99 <= 50 && r.missed === 0 ? 'met' : 'NOT met'}`);
}

if (isMainModule(import.meta.url)) {
  const can = await canUseNetns();
  if (!can.ok) {
    console.log(`route-reflection: skipped (${can.reason})`);
  } else {
    const changes = numberFlag('--changes');
    const result = await run({ ...(changes ? { changes } : {}), viaStore: process.argv.includes('--store') });
    printTable(result);
    const out = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/out/lab/route-reflection.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  wrote ${out}`);
  }
}
