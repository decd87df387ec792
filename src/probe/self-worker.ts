// The self vantage's prober, run by the agent inside its probe namespace
// (`ip netns exec <ns> node self-worker.js`, see self-vantage.ts). It takes probe
// requests over the IPC channel and answers with their outcomes. Names are resolved by
// the agent (outside the namespace) — the namespace's own DNS traffic would not be
// masqueraded towards the VPC resolver. Exits when the agent goes away.
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { runProbe } from './probes.js';
import type { ProbeTarget } from './targets.js';

export type WorkerRequest = { type: 'probe'; id: number; target: ProbeTarget; timeoutMs: number } | { type: 'lookup-result'; id: number; address?: string; family?: number; error?: string };
export type WorkerReply = { type: 'result'; id: number; ok: boolean; latencyMs: number; error?: string } | { type: 'lookup'; id: number; host: string } | { type: 'ready' };

const send = (m: WorkerReply) => process.send?.(m);
const clock = { now: () => performance.timeOrigin + performance.now() };
const lookups = new Map<number, (address?: string, family?: number, error?: string) => void>();
let nextLookup = 1;

const lookup: LookupFunction = (host, options, callback) => {
  const id = nextLookup++;
  lookups.set(id, (address, family, error) => {
    if (error || !address) return callback(Object.assign(new Error(error ?? 'ENOTFOUND'), { code: 'ENOTFOUND' }), '', 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [{ address, family: family ?? 4 }]);
    callback(null, address, family ?? 4);
  });
  send({ type: 'lookup', id, host });
};

function main() {
  if (!process.send) {
    process.stderr.write('self-worker: must be started by the natkeeper agent (IPC channel missing)\n');
    process.exit(2);
  }
  process.on('message', (raw: WorkerRequest) => {
    if (raw.type === 'lookup-result') {
      lookups.get(raw.id)?.(raw.address, raw.family, raw.error);
      lookups.delete(raw.id);
      return;
    }
    if (raw.type !== 'probe') return;
    void runProbe(raw.target, { timeoutMs: raw.timeoutMs, clock, lookup }).then((o) => send({ type: 'result', id: raw.id, ...o }));
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main();
