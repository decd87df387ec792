// How many DescribeRouteTables calls per second the lab's EC2 API answers: 200
// private route tables, one page of 100 filtered by vpc-id per call, throttling
// and latency off, driven over keep-alive HTTP by a fixed number of concurrent
// callers for a fixed time (or until a request cap). The load runs in a worker
// thread so the server has a core of its own. Target: >= 2,000 calls/s on a
// 2-core machine.
//
//   node dist/bench/lab/describe-throughput.js [--duration-ms N] [--concurrency N]
//
// Prints a table and writes bench/out/lab/describe-throughput.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiServer } from '../../lab/emulator/api-server.js';
import { systemClock } from '../../lab/emulator/clock.js';
import { ec2Service } from '../../lab/emulator/ec2/service.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { percentile, runLoad } from '../lib/http-load.js';
import { isMainModule, numberFlag } from '../lib/cli.js';

export interface ThroughputOptions {
  durationMs?: number;
  concurrency?: number;
  /** Stop after this many requests even if time remains. */
  maxRequests?: number;
  /** Private route tables in the lab (3 associated + the rest as extras). */
  routeTables?: number;
}

export interface ThroughputResult {
  routeTables: number;
  concurrency: number;
  requests: number;
  errors: number;
  durationMs: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  responseBytes: number;
}

/** A lab whose three zones together hold `total` private route tables. */
function topologyWith(total: number) {
  const zones = ['a', 'b', 'c'];
  const extras = total - zones.length; // each zone already has one associated private table
  return topologySchema.parse({
    zones: zones.map((name, i) => ({
      name,
      publicSubnet: `10.0.${i}.0/24`,
      privateSubnets: [`10.0.${100 + i}.0/24`],
      extraPrivateRouteTables: Math.floor(extras / zones.length) + (i < extras % zones.length ? 1 : 0),
    })),
    realism: { mutatingLatencyMs: 0, describeLatencyMs: 0, throttling: { enabled: false } },
  });
}

export async function run(opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const concurrency = opts.concurrency ?? 16;
  const routeTables = opts.routeTables ?? 200;
  const topology = topologyWith(routeTables);
  const { store, manifest } = buildLab(topology, systemClock);
  const api = createApiServer({ store, services: [ec2Service], realism: topology.realism, clock: systemClock });
  const port = await api.listen(0, '127.0.0.1');
  try {
    const load = await runLoad({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams({
        Action: 'DescribeRouteTables',
        Version: '2016-11-15',
        'Filter.1.Name': 'vpc-id',
        'Filter.1.Value.1': manifest.vpcId,
        MaxResults: '100',
      }).toString(),
      concurrency,
      durationMs: opts.durationMs ?? 5_000,
      maxRequests: opts.maxRequests ?? 100_000,
      warmupMs: 500,
    });
    const ms = (v: number) => Number(v.toFixed(2));
    return {
      routeTables,
      concurrency,
      requests: load.requests,
      errors: load.errors,
      durationMs: Math.round(load.elapsedMs),
      callsPerSecond: Math.round((load.requests / load.elapsedMs) * 1000),
      p50Ms: ms(percentile(load.latenciesMs, 50)),
      p99Ms: ms(percentile(load.latenciesMs, 99)),
      maxMs: ms(load.latenciesMs[load.latenciesMs.length - 1] ?? 0),
      responseBytes: load.responseBytes,
    };
  } finally {
    await api.close();
    store.dispose();
  }
}

function printTable(r: ThroughputResult): void {
  const rows: [string, string][] = [
    ['route tables', String(r.routeTables)],
    ['page size', '100 (filtered by vpc-id)'],
    ['concurrency', String(r.concurrency)],
    ['requests', String(r.requests)],
    ['errors', String(r.errors)],
    ['duration', `${r.durationMs} ms`],
    ['calls/s', String(r.callsPerSecond)],
    ['latency p50', `${r.p50Ms} ms`],
    ['latency p99', `${r.p99Ms} ms`],
    ['latency max', `${r.maxMs} ms`],
    ['response size', `${r.responseBytes} bytes`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('DescribeRouteTables throughput (lab EC2 API, loopback, keep-alive)');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log(`  target >= 2000 calls/s: ${r.callsPerSecond >= 2000 ? 'met' : 'NOT met'}`);
}

if (isMainModule(import.meta.url)) {
  const durationMs = numberFlag('--duration-ms');
  const concurrency = numberFlag('--concurrency');
  const result = await run({ ...(durationMs ? { durationMs } : {}), ...(concurrency ? { concurrency } : {}) });
  printTable(result);
  const out = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/out/lab/describe-throughput.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  wrote ${out}`);
}
