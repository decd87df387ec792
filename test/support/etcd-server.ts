// Debian's etcd (`/usr/bin/etcd`, v3.4) on loopback only, for the etcd lease tests.
// Client and peer URLs are 127.0.0.1 on free ports; the data dir is a fresh temp dir.
// stop() always kills the process and removes the data dir. Short heartbeat and
// election timeouts make etcd's minimum lease TTL 1 s (it is 2 s with the defaults),
// which keeps expiry tests fast.
//
// When etcd is missing: tests skip with a reason unless we are root, where a missing
// etcd is a failure (CI runs as root and scripts/install-deps.sh installs etcd-server).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env['NATKEEPER_ETCD_BIN'] ?? '/usr/bin/etcd';

/** Why the etcd tests cannot run here, or undefined when they can. Throws as root when etcd is missing. */
export function etcdSkipReason(): string | undefined {
  if (existsSync(ETCD_BIN)) return undefined;
  const reason = `${ETCD_BIN} not found (install Debian's etcd-server: scripts/install-deps.sh)`;
  if (process.getuid?.() === 0) throw new Error(`${reason}; as root (as in CI) a missing etcd is a failure, not a skip`);
  return reason;
}

export interface EtcdServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  pid: number;
  /** The temp data dir (removed by stop()). */
  dataDir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEtcd(opts: { timeoutMs?: number } = {}): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'natkeeper-etcd-'));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let output = '';
  let child: ChildProcess | undefined;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child = spawn(
      ETCD_BIN,
      [
        '--name=default',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        '--initial-cluster-state=new',
        '--heartbeat-interval=10',
        '--election-timeout=100',
        '--log-level=error',
        '--logger=zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      output += String(err);
      exited = true;
      resolve();
    });
  });
  const proc = child as unknown as ChildProcess;
  // Last resort if the test process exits without stop() (a killed worker): no etcd left behind.
  const onExit = () => {
    if (!exited) proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    if (!exited) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exitedPromise;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
    process.removeListener('exit', onExit);
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  try {
    for (;;) {
      if (exited) throw new Error(`etcd exited during startup:\n${output}`);
      try {
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (res.ok && body.health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy at ${endpoint}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, pid: proc.pid ?? -1, dataDir, stop };
}
