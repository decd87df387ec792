// The lab's long-running processes: the echo server in the internet namespace,
// and socat forwarders serving a unix socket inside an instance (IMDS). Forwarders
// freeze with their instance and are restarted when it starts again.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Topology } from '../topology/schema.js';
import { ip, signalPids } from './exec.js';
import type { DataPlaneLog } from './dataplane-log.js';
import type { SyncContext } from './mirror.js';

export interface Forwarder {
  instanceId: string;
  listen: { ip: string; port: number };
  unixSocketPath: string;
  /** The current socat's pid (changes when the forwarder is restarted). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

interface ForwarderEntry {
  key: string;
  instanceId: string;
  listen: { ip: string; port: number };
  unixSocketPath: string;
  child?: ChildProcess;
  /** A launch under way: start()'s queued launch and the instance's first ensure() can race. */
  launching?: Promise<void>;
  stopped: boolean;
}

/** Runs a kernel operation in the data plane's queue. */
type Enqueue = <T>(label: string, fn: () => Promise<T>) => Promise<T>;

export class EchoServerProcess {
  private child: ChildProcess | undefined;

  /** Starts the echo server (compiled `script`) in the internet namespace and waits until it is ready. */
  async start(inetNs: string, internet: Topology['internet'], script: string, log: DataPlaneLog, isClosed: () => boolean): Promise<void> {
    const { echoTargets, echoPort } = internet;
    const child = spawn('ip', ['netns', 'exec', inetNs, process.execPath, script, '--port', String(echoPort), '--targets', echoTargets.join(',')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the echo server did not start within 5 s: ${stderr.trim()}`)), 5000);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the echo server exited (${code}): ${stderr.trim()}`));
      });
    });
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => {
      if (!isClosed()) log({ level: 'error', event: 'dataplane.echo-server-exited', code, signal, stderr: stderr.slice(-500) });
    });
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }
}

export class Forwarders {
  private readonly entries = new Map<string, ForwarderEntry>();

  constructor(
    private readonly ctx: SyncContext,
    private readonly enqueue: Enqueue,
    private readonly isClosed: () => boolean,
  ) {}

  /**
   * Serves a unix socket inside an instance: `socat TCP-LISTEN:<port>,bind=<ip>,fork,reuseaddr
   * UNIX-CONNECT:<path>` in the instance's namespace, with <ip> (e.g. 169.254.169.254) on its lo.
   * The forwarder is restarted whenever the instance starts again (ensure).
   */
  async start(instanceId: string, listen: { ip: string; port: number }, unixSocketPath: string): Promise<Forwarder> {
    // The namespace may still be on its way (a forwarder asked for from an instance-launched
    // listener): check the instance now, its namespace once the queue reaches this job.
    const inst = this.ctx.store.instances.get(instanceId);
    if (!inst || inst.state === 'terminated') throw new Error(`cannot serve a forwarder in ${instanceId}: no such running instance`);
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(listen.ip) || !Number.isInteger(listen.port) || listen.port < 1 || listen.port > 65535)
      throw new Error(`forwarder listen address must be an IPv4 address and a port 1-65535, got ${listen.ip}:${listen.port}`);
    unixSocketPath = resolve(unixSocketPath);
    // socat reads "," ":" and "!" in an address as syntax.
    if (/[,:!\s]/.test(unixSocketPath)) throw new Error(`forwarder socket path must not hold , : ! or spaces (socat syntax): ${unixSocketPath}`);
    const key = `${instanceId} ${listen.ip}:${listen.port}`;
    if (this.entries.has(key)) throw new Error(`a forwarder for ${listen.ip}:${listen.port} already runs in ${instanceId}`);
    const entry: ForwarderEntry = { key, instanceId, listen, unixSocketPath, stopped: false };
    this.entries.set(key, entry);
    try {
      await this.enqueue(`forwarder ${key}`, () => this.launch(entry));
    } catch (e) {
      this.entries.delete(key);
      throw e;
    }
    return {
      instanceId,
      listen,
      unixSocketPath,
      get pid() {
        return entry.child?.pid;
      },
      stop: async () => this.stop(entry),
    };
  }

  /** Restarts the instance's forwarders (all of them after a thaw; otherwise the ones that died). */
  async ensure(instanceId: string, restartAll: boolean): Promise<void> {
    for (const f of this.entries.values()) {
      if (f.instanceId !== instanceId || f.stopped) continue;
      if (f.launching) await f.launching.catch(() => undefined);
      const alive = f.child && f.child.exitCode === null && f.child.signalCode === null;
      if (alive && !restartAll) continue;
      this.kill(f);
      await this.launch(f);
    }
  }

  /** Kills the instance's forwarders now; they come back with ensure(). */
  killIn(instanceId: string): void {
    for (const f of this.entries.values()) if (f.instanceId === instanceId) this.kill(f);
  }

  /** Stops the instance's forwarders for good (the instance is gone). */
  stopIn(instanceId: string): void {
    for (const f of this.entries.values()) if (f.instanceId === instanceId) this.stop(f);
  }

  /** Teardown: SIGKILLs every forwarder and forgets them. */
  stopAll(): void {
    for (const f of this.entries.values()) {
      f.stopped = true;
      f.child?.kill('SIGKILL');
    }
    this.entries.clear();
  }

  /** Starts f's socat unless one runs or is starting (two would fight over the port). */
  private launch(f: ForwarderEntry): Promise<void> {
    if (f.launching) return f.launching;
    if (f.child && f.child.exitCode === null && f.child.signalCode === null) return Promise.resolve();
    const p = this.spawnForwarder(f).finally(() => {
      if (f.launching === p) f.launching = undefined;
    });
    f.launching = p;
    return p;
  }

  private async spawnForwarder(f: ForwarderEntry): Promise<void> {
    if (f.stopped) return;
    const m = this.ctx.mirror.instances.get(f.instanceId);
    if (!m) throw new Error(`the lab data plane has no namespace for instance ${f.instanceId} (unknown or terminated)`);
    await ip(m.ns, 'addr', 'replace', `${f.listen.ip}/32`, 'dev', 'lo');
    const child = spawn(
      'ip',
      ['netns', 'exec', m.ns, 'socat', `TCP-LISTEN:${f.listen.port},bind=${f.listen.ip},fork,reuseaddr`, `UNIX-CONNECT:${f.unixSocketPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    f.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (!f.stopped && !this.isClosed() && f.child === child)
        this.ctx.log({ level: 'warn', event: 'dataplane.forwarder-exited', instance: f.instanceId, listen: `${f.listen.ip}:${f.listen.port}`, code, signal, stderr });
    });
    const deadline = performance.now() + 3000;
    while (!(await isListening(child.pid, f.listen.ip, f.listen.port))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the forwarder in ${m.ns} exited: ${stderr.trim()}`);
      if (performance.now() > deadline) throw new Error(`the forwarder in ${m.ns} is not listening on ${f.listen.ip}:${f.listen.port} after 3 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // A stopped instance's processes are all frozen; this one too, until it starts again.
    if (m.frozen && child.pid) signalPids([child.pid], 'SIGSTOP');
  }

  private kill(f: ForwarderEntry): void {
    const child = f.child;
    f.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      // A stopped (SIGSTOP) process still dies of SIGKILL.
      child.kill('SIGKILL');
    }
  }

  private stop(f: ForwarderEntry): void {
    f.stopped = true;
    this.kill(f);
    this.entries.delete(f.key);
  }
}

/** Whether process `pid` (seen through its own network namespace) listens on ip:port. */
async function isListening(pid: number | undefined, ipAddr: string, port: number): Promise<boolean> {
  if (!pid) return false;
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/tcp`, 'utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[3] !== '0A') continue; // LISTEN
    const [addrHex, portHex] = (cols[1] ?? '').split(':');
    if (!addrHex || !portHex || parseInt(portHex, 16) !== port) continue;
    const n = parseInt(addrHex, 16);
    // /proc shows the address as a host-order number of the network-order bytes (little-endian hosts).
    const addr = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
    if (addr === ipAddr || addr === '0.0.0.0') return true;
  }
  return false;
}
