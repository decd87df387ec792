// A bounded HTTP load: N concurrent callers over keep-alive connections send
// the same POST until a deadline or a request cap, recording each latency.
// It runs in a worker thread so that, on a small machine, the server under
// test keeps the main thread (one core) to itself.

import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface LoadSpec {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** Load sent first and not measured, so the server's JIT and caches are warm. */
  warmupMs?: number;
}

export interface LoadResult {
  requests: number;
  /** Responses with a status other than 200. */
  errors: number;
  elapsedMs: number;
  /** Per-request latencies in ms, sorted ascending. */
  latenciesMs: Float64Array;
  /** Size of the last response body. */
  responseBytes: number;
}

async function drive(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const headers = { ...spec.headers, 'content-length': String(Buffer.byteLength(spec.body)) };
  const call = () =>
    new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = request({ host: spec.host, port: spec.port, method: 'POST', path: spec.path, agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(spec.body);
    });

  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let responseBytes = 0;
  const started = performance.now();
  const deadline = started + spec.durationMs;
  const caller = async () => {
    while (performance.now() < deadline && sent < spec.maxRequests) {
      sent++;
      const t0 = performance.now();
      const { status, bytes } = await call();
      latencies.push(performance.now() - t0);
      if (status !== 200) errors++;
      responseBytes = bytes;
    }
  };
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, caller));
  } finally {
    agent.destroy();
  }
  const elapsedMs = performance.now() - started;
  return { requests: latencies.length, errors, elapsedMs, latenciesMs: Float64Array.from(latencies).sort(), responseBytes };
}

/** Runs the load in a worker thread and resolves with its result. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { httpLoad: spec } });
    worker.once('message', (result: LoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load worker exited with code ${code}`));
    });
  });
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function warmThenDrive(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupMs) await drive({ ...spec, durationMs: spec.warmupMs });
  return drive(spec);
}

const job = (workerData as { httpLoad?: LoadSpec } | null)?.httpLoad;
if (!isMainThread && job) {
  warmThenDrive(job).then(
    (result) => parentPort!.postMessage(result),
    (err: unknown) => {
      throw err;
    },
  );
}
