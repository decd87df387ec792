// The agent's HTTP surface on 127.0.0.1 (port 0) with a fake StatusSource.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAgentHttpServer, type AgentHttpServer } from '../../src/agent/http-server.js';
import type { AgentStatus, StatusSource } from '../../src/agent/status.js';
import { createAgentMetrics, type AgentMetrics } from '../../src/telemetry/metrics-agent.js';

function healthyStatus(): AgentStatus {
  return {
    node: { id: 'i-1', zone: 'eu-west-1a' },
    setup: { state: 'passed', at: 1000 },
    selfTest: { state: 'passed', at: 1100 },
    probes: [
      { node: 'i-1', target: 'tcp:1.1.1.1:443', kind: 'tcp', vantage: 'self', ok: true, latencyMs: 12, at: 2000 },
      { node: 'i-2', target: 'tcp:1.1.1.1:443', kind: 'tcp', vantage: 'peer:i-2', ok: false, error: 'timeout after 1000 ms', at: 2000 },
    ],
    verdicts: [
      { node: 'i-1', state: 'healthy', since: 1500, code: 'recovered', reason: 'all targets passing' },
      { node: 'i-2', state: 'unhealthy', since: 1800, code: 'probes-failing', reason: '3 of 3 targets failing' },
    ],
    peers: [{ id: 'i-2', address: '10.0.2.10', lastHeartbeatAt: 1990, seq: 42, verdict: 'unhealthy', lost: false }],
    lease: { holder: 'i-1', token: 7, expiresAt: 8000, heldBySelf: true },
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let port = 0;
function call(method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('agent HTTP surface', () => {
  let current: () => AgentStatus | Promise<AgentStatus>;
  const source: StatusSource = { status: () => current() };
  let metrics: AgentMetrics;
  let server: AgentHttpServer;

  beforeAll(async () => {
    metrics = createAgentMetrics();
    server = createAgentHttpServer({ status: source, metrics: metrics.registry, statusTimeoutMs: 200 });
    const addr = await server.listen('127.0.0.1', 0);
    expect(addr.address).toBe('127.0.0.1');
    port = addr.port;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    current = healthyStatus;
  });

  describe('/healthz', () => {
    it('200 when setup and self-test passed and the verdict is healthy', async () => {
      const r = await call('GET', '/healthz');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(r.body)).toEqual({ healthy: true, reason: 'verdict healthy' });
    });

    it.each<[string, (s: AgentStatus) => void, number, string]>([
      ['setup failed', (s) => (s.setup = { state: 'failed', reason: 'nft: table missing' }), 503, 'setup failed: nft: table missing'],
      ['setup running', (s) => (s.setup = { state: 'running' }), 503, 'setup running'],
      ['self-test failed', (s) => (s.selfTest = { state: 'failed', reason: 'probe through self timed out' }), 503, 'self-test failed: probe through self timed out'],
      ['self-test pending', (s) => (s.selfTest = { state: 'pending' }), 503, 'self-test pending'],
      [
        'own verdict unhealthy',
        (s) => (s.verdicts[0] = { node: 'i-1', state: 'unhealthy', since: 1, code: 'probes-failing', reason: '2 of 3 targets failing' }),
        503,
        'verdict unhealthy: 2 of 3 targets failing',
      ],
      [
        'internet unreachable (no node blamed)',
        (s) => (s.verdicts[0] = { node: 'i-1', state: 'internet-unreachable', since: 1, code: 'internet-unreachable', reason: 'every node fails' }),
        200,
        'verdict internet-unreachable',
      ],
      ['no verdict yet', (s) => (s.verdicts = []), 200, 'verdict unknown (no verdict yet)'],
    ])('%s', async (_name, change, code, reason) => {
      current = () => {
        const s = healthyStatus();
        change(s);
        return s;
      };
      const r = await call('GET', '/healthz');
      expect(r.status).toBe(code);
      expect(JSON.parse(r.body)).toEqual({ healthy: code === 200, reason });
    });

    it('503 when the status source throws', async () => {
      current = () => {
        throw new Error('tracker not started');
      };
      const r = await call('GET', '/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toEqual({ healthy: false, reason: 'status source failed: tracker not started' });
    });

    it('503 when the status source hangs', async () => {
      current = () => new Promise<AgentStatus>(() => {});
      const r = await call('GET', '/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).reason).toBe('status source did not answer within 200 ms');
    });
  });

  describe('/status', () => {
    it('returns the snapshot with its health', async () => {
      current = async () => healthyStatus();
      const r = await call('GET', '/status');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(r.body)).toEqual({ ...healthyStatus(), health: { healthy: true, reason: 'verdict healthy' } });
    });

    it('stays 200 when the node is unhealthy (the body says why)', async () => {
      current = () => ({ ...healthyStatus(), setup: { state: 'failed', reason: 'x' } });
      const r = await call('GET', '/status');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).health).toEqual({ healthy: false, reason: 'setup failed: x' });
    });

    it('500 when the status source rejects, 503 when it hangs', async () => {
      current = () => Promise.reject(new Error('boom'));
      const r = await call('GET', '/status');
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body)).toEqual({ error: 'status source failed: boom' });
      current = () => new Promise<AgentStatus>(() => {});
      expect((await call('GET', '/status')).status).toBe(503);
    });
  });

  describe('/metrics', () => {
    it('serves the registry in the text format 0.0.4', async () => {
      metrics.probeFailures.inc({ target: 'icmp:8.8.8.8', vantage: 'self' });
      metrics.leaseHolder.set(undefined, 1);
      const r = await call('GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(r.body).toBe(metrics.registry.render());
      expect(r.body).toContain('natkeeper_probe_failures_total{target="icmp:8.8.8.8",vantage="self"} 1\n');
      expect(r.body).toContain('# TYPE natkeeper_probe_latency_seconds histogram\n');
      expect(r.body).toContain('natkeeper_lease_holder 1\n');
    });

    it('does not need the status source', async () => {
      current = () => {
        throw new Error('down');
      };
      expect((await call('GET', '/metrics')).status).toBe(200);
    });
  });

  describe('routing', () => {
    it('ignores the query string', async () => {
      expect((await call('GET', '/healthz?verbose=1')).status).toBe(200);
    });

    it('HEAD is GET without a body', async () => {
      const r = await call('HEAD', '/healthz');
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      expect(Number(r.headers['content-length'])).toBeGreaterThan(0);
    });

    it.each(['/', '/health', '/healthz/', '/status/x', '/METRICS', '/%zz'])('404 for %s', async (path) => {
      const r = await call('GET', path);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body).paths).toEqual(['/healthz', '/status', '/metrics']);
    });

    it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('405 for %s', async (method) => {
      const r = await call(method, '/status');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    });

    it('answers a malformed request with 400 and keeps serving', async () => {
      const raw = await new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1', () => sock.write('NOT HTTP AT ALL\r\n\r\n'));
        let data = '';
        sock.setEncoding('utf8');
        sock.on('data', (c: string) => (data += c));
        sock.on('end', () => resolve(data));
        sock.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400/);
      expect((await call('GET', '/healthz')).status).toBe(200);
    });

    it('serves many requests at once', async () => {
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => call('GET', ['/healthz', '/status', '/metrics'][i % 3]!)));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    });
  });

  it('listen rejects when the port is taken; close is idempotent', async () => {
    const other = createAgentHttpServer({ status: source, metrics: metrics.registry });
    await expect(other.listen('127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
    await other.close();
    await other.close();
  });
});
