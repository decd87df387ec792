// The agent's HTTP surface: GET /healthz, /status, /metrics. Read-only; HEAD is
// answered like GET without a body. Unknown paths 404, other methods 405. A failing
// or hanging StatusSource is a 500/503 answer, never a crashed daemon.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from '../telemetry/metrics.js';
import { healthOf, type AgentStatus, type StatusSource } from './status.js';

export interface AgentHttpServerOptions {
  status: StatusSource;
  metrics: Registry;
  logger?: Logger;
  /** How long a StatusSource may take before the request is answered 503. Default 2000 ms. */
  statusTimeoutMs?: number;
}

export interface AgentHttpServer {
  /** Listen on host:port (port 0: any free port); resolves with the bound address. */
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly server: Server;
}

const ROUTES = new Set(['/healthz', '/status', '/metrics']);

class StatusTimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StatusTimeoutError(`status source did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function send(req: IncomingMessage, res: ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(code, { 'content-type': type, 'content-length': String(buf.length), 'cache-control': 'no-store', ...headers });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

const sendJson = (req: IncomingMessage, res: ServerResponse, code: number, value: unknown, headers?: Record<string, string>) =>
  send(req, res, code, 'application/json; charset=utf-8', JSON.stringify(value, null, 2) + '\n', headers);

export function createAgentHttpServer(opts: AgentHttpServerOptions): AgentHttpServer {
  const log = opts.logger ?? silentLogger;
  const timeoutMs = opts.statusTimeoutMs ?? 2_000;

  const readStatus = (): Promise<AgentStatus> => withTimeout(Promise.resolve().then(() => opts.status.status()), timeoutMs);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://agent').pathname;
    } catch {
      return sendJson(req, res, 400, { error: 'bad request target' });
    }
    if (!ROUTES.has(path)) return sendJson(req, res, 404, { error: `no such path ${path}`, paths: [...ROUTES] });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(req, res, 405, { error: `method ${req.method} not allowed` }, { allow: 'GET, HEAD' });

    if (path === '/metrics') return send(req, res, 200, PROMETHEUS_CONTENT_TYPE, opts.metrics.render());

    let status: AgentStatus;
    try {
      status = await readStatus();
    } catch (err) {
      const timedOut = err instanceof StatusTimeoutError;
      log.warn('http_status_failed', { path, error: err as Error });
      const reason = timedOut ? err.message : `status source failed: ${(err as Error).message}`;
      return path === '/healthz' ? sendJson(req, res, 503, { healthy: false, reason }) : sendJson(req, res, timedOut ? 503 : 500, { error: reason });
    }
    if (path === '/healthz') {
      const h = healthOf(status);
      return sendJson(req, res, h.healthy ? 200 : 503, h);
    }
    return sendJson(req, res, 200, { ...status, health: healthOf(status) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('http_handler_failed', { error: err as Error });
      if (!res.headersSent) sendJson(req, res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // A slow or idle client must not hold the agent's sockets.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    listen(host, port) {
      return new Promise<AddressInfo>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          server.on('error', (err) => log.error('http_server_error', { error: err }));
          const addr = server.address() as AddressInfo;
          log.info('http_listening', { address: addr.address, port: addr.port });
          resolve(addr);
        });
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
