// One data-path probe: TCP connect, HTTP(S) HEAD or ICMP echo, each with its own
// timeout and an AbortSignal. A probe never throws: it resolves to ok/failed with
// the time it took (until the timeout or error for a failure).

import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Clock } from '../domain/clock.js';
import type { ProbeTarget } from './targets.js';

export interface ProbeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  clock: Clock;
  /**
   * Local source port to bind (TCP/HTTP), used for the `peer:<id>` vantage: the port
   * lies in the range the routing rules send through the peer (see peer-route.ts).
   */
  localPort?: number;
  /** fwmark for ICMP probes (`ping -m`, needs CAP_NET_ADMIN); the peer vantage for ICMP. */
  mark?: number;
  /** Name resolution for TCP/HTTP (the self vantage's namespace asks the agent; see self-vantage.ts). */
  lookup?: net.LookupFunction;
}

export interface ProbeOutcome {
  ok: boolean;
  latencyMs: number;
  /** Why a probe failed ("timeout", "ECONNREFUSED", "HTTP 503", "aborted"). */
  error?: string;
}

export type ProbeFn = (target: ProbeTarget, opts: ProbeOptions) => Promise<ProbeOutcome>;

/** Runs the probe for the target's kind. */
export const runProbe: ProbeFn = (target, opts) => {
  switch (target.kind) {
    case 'tcp':
      return tcpProbe(target.host, target.port, opts);
    case 'http':
      return httpHeadProbe(target.url, opts);
    case 'icmp':
      return icmpProbe(target.host, opts);
  }
};

/** Shared bookkeeping: one settle, a timeout timer, abort handling, cleanup. */
function guarded(opts: ProbeOptions, body: (settle: (ok: boolean, error?: string) => void, onCleanup: (fn: () => void) => void) => void): Promise<ProbeOutcome> {
  const started = opts.clock.now();
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const settle = (ok: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const c of cleanups) {
        try {
          c();
        } catch {
          // cleanup must not turn a result into a crash
        }
      }
      const latencyMs = Math.max(0, opts.clock.now() - started);
      resolve(error === undefined ? { ok, latencyMs } : { ok, latencyMs, error });
    };
    const onAbort = () => settle(false, 'aborted');
    const timer = setTimeout(() => settle(false, 'timeout'), opts.timeoutMs);
    if (opts.signal?.aborted) {
      settle(false, 'aborted');
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      body(settle, (fn) => cleanups.push(fn));
    } catch (e) {
      settle(false, errorName(e));
    }
  });
}

function errorName(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return e instanceof Error ? e.message : String(e);
}

/** TCP connect: ok once the handshake completes; the socket is then reset (no TIME_WAIT on our side). */
export function tcpProbe(host: string, port: number, opts: ProbeOptions): Promise<ProbeOutcome> {
  return guarded(opts, (settle, onCleanup) => {
    const socket = net.connect({ host, port, ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}), ...(opts.lookup ? { lookup: opts.lookup } : {}) });
    onCleanup(() => {
      if (!socket.destroyed) {
        if (socket.readyState === 'open') socket.resetAndDestroy();
        else socket.destroy();
      }
    });
    socket.once('connect', () => settle(true));
    socket.once('error', (e) => settle(false, errorName(e)));
  });
}

/** HTTP(S) HEAD: ok for any status below 500 (the path through the NAT works; the target answered). */
export function httpHeadProbe(url: string, opts: ProbeOptions): Promise<ProbeOutcome> {
  return guarded(opts, (settle, onCleanup) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, {
      method: 'HEAD',
      agent: false,
      headers: { 'user-agent': 'natkeeper-probe', connection: 'close' },
      ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}),
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
    onCleanup(() => req.destroy());
    req.once('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status > 0 && status < 500) settle(true);
      else settle(false, `HTTP ${status}`);
    });
    req.once('error', (e) => settle(false, errorName(e)));
    req.end();
  });
}

/**
 * ICMP echo by spawning `ping -c 1 -W <s> -n` (no raw-socket privileges needed in
 * Node). Cost: one process spawn per probe, roughly 1-3 ms of CPU and a few MB of
 * transient RSS; at the default 200 ms interval that is ~5 spawns/s per ICMP target,
 * so prefer TCP/HTTP targets and keep ICMP to one target. `-W` has whole-second
 * granularity, so the child is also killed at `timeoutMs`.
 */
export function icmpProbe(host: string, opts: ProbeOptions): Promise<ProbeOutcome> {
  return guarded(opts, (settle, onCleanup) => {
    const waitS = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
    const args = ['-c', '1', '-W', String(waitS), '-n', ...(opts.mark !== undefined ? ['-m', String(opts.mark)] : []), host];
    const child = spawn('ping', args, { stdio: 'ignore' });
    onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.once('error', (e) => settle(false, errorName(e)));
    child.once('exit', (code) => (code === 0 ? settle(true) : settle(false, `ping exit ${code}`)));
  });
}
