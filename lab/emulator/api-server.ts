// The lab's AWS endpoint: one HTTP server for every Query service (EC2, Auto
// Scaling), chosen per request by its Version parameter. Each call passes the
// realism gate (throttling, latency, injected errors), runs its action against
// the store, and is answered in the service's XML dialect with an
// x-amzn-requestid header. Nothing a client sends can crash it: every failure
// becomes an AWS-shaped error, unexpected ones an InternalError (500) logged to
// stderr. It keeps no state of its own beyond the request log.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from './clock.js';
import { ApiError } from './errors.js';
import { resolveCall, serviceForErrors, type ResolvedCall } from './query/dispatch.js';
import { BodyTooLargeError, MAX_BODY_BYTES, readBody, requestParams, sendXml } from './query/http.js';
import { RequestLog, accessKeyIdOf, redactParams } from './query/request-log.js';
import { errorXml, internalError, successDocument, type Dialect } from './query/response.js';
import type { QueryParams, ServiceDefinition } from './query/types.js';
import { RealismController, type RealismSettings } from './realism/controller.js';
import type { LabStore } from './store.js';

export interface ExtraRoute {
  method: string;
  /** An exact path, or a prefix when it ends with "/". */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

export interface ApiServerOptions {
  store: LabStore;
  services: ServiceDefinition[];
  realism: RealismSettings;
  clock?: Clock;
  /** The injected-error dice; Math.random by default. */
  random?: () => number;
  /** Non-Query routes served on the same port (events, lab admin), matched first. */
  extraRoutes?: ExtraRoute[];
  maxBodyBytes?: number;
  requestLogSize?: number;
}

export interface ApiServer {
  server: Server;
  /** Starts listening; resolves to the actual port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
  realism: RealismController;
  requestLog: RequestLog;
}

// Where the SDKs and the CLI post: "/" with an endpoint override, or a service path.
const API_PATHS = new Set(['/', '/ec2', '/ec2/', '/autoscaling', '/autoscaling/']);

/** Used when no service's dialect applies: EC2's error document. */
const FALLBACK_DIALECT: Dialect = { xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/', listItem: 'item', wrapResult: false };

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function matchRoute(routes: readonly ExtraRoute[], method: string, path: string): ExtraRoute | undefined {
  return routes.find(
    (r) => r.method.toUpperCase() === method && (r.path.endsWith('/') && r.path !== '/' ? path.startsWith(r.path) : path === r.path),
  );
}

function asApiError(err: unknown, requestId: string, service: ServiceDefinition['name']): ApiError {
  if (err instanceof ApiError) return err;
  console.error(`lab api: unexpected error in request ${requestId}:`, err);
  return internalError(service);
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const clock = opts.clock ?? systemClock;
  const realism = new RealismController(opts.realism, { clock, ...(opts.random ? { random: opts.random } : {}) });
  const requestLog = new RequestLog(opts.requestLogSize);
  const extraRoutes = opts.extraRoutes ?? [];
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

  /** Runs one resolved call through the realism gate and its action; the success document, or throws. */
  async function run(call: ResolvedCall, params: QueryParams, requestId: string): Promise<Buffer[]> {
    const admission = realism.admit({ service: call.service.name, action: call.action, mutating: call.definition.mutating, params });
    if (admission.delayMs > 0) await sleep(admission.delayMs);
    if (admission.error) throw admission.error;
    const result = await call.definition.handler(params, { requestId, store: opts.store });
    return successDocument(call.service, call.action, requestId, result);
  }

  async function handleQuery(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const requestId = randomUUID();
    const time = clock.now();
    const started = performance.now();
    let params: QueryParams = Object.create(null) as QueryParams;
    let call: ResolvedCall | undefined;
    let status = 200;
    let errorCode: string | undefined;
    try {
      if (req.method !== 'POST' && req.method !== 'GET')
        throw new ApiError('MethodNotAllowed', `The method ${req.method ?? '?'} is not allowed; use POST or GET.`, 405);
      if (!API_PATHS.has(path)) throw new ApiError('NotFound', `Nothing is served at ${path.slice(0, 64)}.`, 404);
      params = requestParams(req.url ?? '/', await readBody(req, maxBody));
      call = resolveCall(opts.services, params);
      sendXml(res, 200, requestId, await run(call, params, requestId));
    } catch (err) {
      const service = serviceForErrors(opts.services, params, path);
      const error = asApiError(err, requestId, service?.name ?? 'ec2');
      const dialect = service ?? FALLBACK_DIALECT;
      // After a too-large body the connection's remaining bytes are unread: close it rather than reuse it.
      const headers: Record<string, string> = err instanceof BodyTooLargeError ? { connection: 'close' } : {};
      sendXml(res, error.httpStatus, requestId, errorXml(dialect, requestId, error), headers);
      status = error.httpStatus;
      errorCode = error.code;
    }
    const accessKeyId = accessKeyIdOf(req.headers.authorization);
    requestLog.add({
      time,
      requestId,
      ...(call ? { service: call.service.name, action: call.action, mutating: call.definition.mutating } : {}),
      ...(accessKeyId ? { accessKeyId } : {}),
      params: redactParams(params),
      status,
      ...(errorCode ? { errorCode } : {}),
      durationMs: performance.now() - started,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url ?? '/');
    const route = matchRoute(extraRoutes, req.method ?? 'GET', path);
    if (!route) return handleQuery(req, res, path);
    try {
      await route.handle(req, res);
    } catch (err) {
      console.error(`lab api: ${req.method} ${path} failed:`, err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      } else res.destroy();
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only reachable if writing the response itself failed; never let it take the process down.
      console.error('lab api: could not answer a request:', err);
      res.destroy();
    });
  });
  // SDK clients keep connections open between calls; let them (Node's default is 5 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  return {
    server,
    realism,
    requestLog,
    listen: (port, host = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
