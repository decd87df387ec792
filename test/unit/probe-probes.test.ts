// Probes against loopback servers only (127.0.0.1).
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lease/clock.js';
import { httpHeadProbe, runProbe, tcpProbe } from '../../src/probe/probes.js';
import { parseTarget } from '../../src/probe/targets.js';

const clock = systemClock;
let silentHttp: net.Server; // accepts, never answers
const silentSockets = new Set<net.Socket>();
let okHttp: http.Server;
let failingHttp: http.Server;
let tcpOpen: net.Server;
let closedPort: number;

function listen(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}
function close(server: net.Server | http.Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

const ports: Record<string, number> = {};

beforeAll(async () => {
  silentHttp = net.createServer((s) => {
    silentSockets.add(s);
    s.resume(); // read (and ignore) the request, so the client's close is seen
    s.on('error', () => undefined);
    s.on('close', () => silentSockets.delete(s));
  });
  ports.silent = await listen(silentHttp);
  okHttp = http.createServer((req, res) => {
    res.writeHead(req.method === 'HEAD' ? 204 : 405).end();
  });
  ports.ok = await listen(okHttp);
  failingHttp = http.createServer((_req, res) => res.writeHead(503).end());
  ports.failing = await listen(failingHttp);
  tcpOpen = net.createServer((s) => s.on('error', () => undefined).end());
  ports.open = await listen(tcpOpen);
  // A port that was just free: listen, read it, close.
  const tmp = net.createServer();
  closedPort = await listen(tmp);
  await close(tmp);
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  okHttp.closeAllConnections();
  failingHttp.closeAllConnections();
  await Promise.all([close(silentHttp), close(okHttp), close(failingHttp), close(tcpOpen)]);
});

describe('tcpProbe', () => {
  it('passes against a listening port', async () => {
    const r = await tcpProbe('127.0.0.1', ports.open!, { timeoutMs: 1_000, clock });
    expect(r.ok).toBe(true);
    expect(r.latencyMs).toBeLessThan(1_000);
  });

  it('fails fast against a closed port (ECONNREFUSED), well before its timeout', async () => {
    const r = await tcpProbe('127.0.0.1', closedPort, { timeoutMs: 2_000, clock });
    expect(r).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(r.latencyMs).toBeLessThan(1_000);
  });

  it('is aborted by its AbortSignal', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await tcpProbe('127.0.0.1', ports.open!, { timeoutMs: 1_000, clock, signal: ac.signal })).toMatchObject({ ok: false, error: 'aborted' });
  });

  it('can bind a chosen local source port (the peer vantage mechanism)', async () => {
    const seen = new Promise<number>((resolve) => tcpOpen.once('connection', (s) => resolve(s.remotePort!)));
    const tmp = net.createServer();
    const localPort = await listen(tmp); // a free port, then release it for the probe
    await close(tmp);
    const r = await tcpProbe('127.0.0.1', ports.open!, { timeoutMs: 1_000, clock, localPort });
    expect(r.ok).toBe(true);
    expect(await seen).toBe(localPort);
  });
});

describe('httpHeadProbe', () => {
  it('passes on a HEAD answered below 500', async () => {
    expect(await httpHeadProbe(`http://127.0.0.1:${ports.ok}/`, { timeoutMs: 1_000, clock })).toMatchObject({ ok: true });
  });

  it('fails on 5xx and says so', async () => {
    expect(await httpHeadProbe(`http://127.0.0.1:${ports.failing}/`, { timeoutMs: 1_000, clock })).toMatchObject({ ok: false, error: 'HTTP 503' });
  });

  it('times out against a server that accepts but never answers, and closes its socket', async () => {
    const r = await httpHeadProbe(`http://127.0.0.1:${ports.silent}/`, { timeoutMs: 150, clock });
    expect(r).toMatchObject({ ok: false, error: 'timeout' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
    expect(r.latencyMs).toBeLessThan(1_000);
    // The probe destroyed its request: the server side sees the connection close.
    await expect.poll(() => silentSockets.size, { timeout: 2_000 }).toBe(0);
  });

  it('an abort mid-request ends it at once', async () => {
    const ac = new AbortController();
    const p = httpHeadProbe(`http://127.0.0.1:${ports.silent}/`, { timeoutMs: 5_000, clock, signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const r = await p;
    expect(r).toMatchObject({ ok: false, error: 'aborted' });
    expect(r.latencyMs).toBeLessThan(1_000);
  });
});

describe('icmp via runProbe', () => {
  it('pings 127.0.0.1 (skipped when ping cannot run here)', async () => {
    const r = await runProbe(parseTarget('icmp://127.0.0.1'), { timeoutMs: 2_000, clock });
    if (!r.ok && r.error && /ENOENT|exit 2/.test(r.error)) return; // no ping binary or no ICMP permission
    expect(r.ok).toBe(true);
  });
});
