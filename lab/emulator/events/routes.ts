// The events endpoints on the lab's API server (not an AWS API):
//   POST   /events/subscriptions        {url, detailTypes?} → 201 {id}
//   GET    /events/subscriptions        → {subscriptions: [...]}
//   DELETE /events/subscriptions/<id>   → 204, or 404 {error, field: "id"}
//   GET    /events/recent               → {events: [...], deliveries: [...]}
// Bad input gets 400 {error, field}.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { SubscriptionError, type EventBus } from './bus.js';
import { DETAIL_TYPES } from './shapes.js';
import { formatPath } from '../../../src/config/errors.js';
import { readBody, sendJson } from '../../http-json.js';

/** The shape of an extra route on the lab's API server (same as lab/admin-routes.ts's ExtraRoute). */
export interface EventRoute {
  method: string;
  /** Exact path, or a prefix when it ends with "/" (the rest of the path is the resource ID). */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

export const SUBSCRIPTIONS_PATH = '/events/subscriptions';
export const RECENT_PATH = '/events/recent';
const MAX_BODY = 16 * 1024;

export const subscribeRequestSchema = z
  .object({
    url: z.string({ error: 'expected a string: the webhook URL, e.g. http://127.0.0.1:8080/hook' }).min(1, 'expected a webhook URL'),
    detailTypes: z.array(z.enum(DETAIL_TYPES, { error: `expected one of: ${DETAIL_TYPES.join(', ')}` })).optional(),
  })
  .strict();

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://lab.invalid').pathname;
}

export async function handleSubscribe(bus: EventBus, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, MAX_BODY);
  if (!body.ok) return sendJson(res, 400, { error: body.error, field: '(body)' });
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch {
    return sendJson(res, 400, { error: 'body is not valid JSON; expected {"url": "http://127.0.0.1:PORT/path", "detailTypes": [...]}', field: '(body)' });
  }
  const parsed = subscribeRequestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = formatPath(issue.path) || '(body)';
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}; expected url and detailTypes` : issue.message;
    return sendJson(res, 400, { error: `${field}: ${message}`, field: issue.code === 'unrecognized_keys' ? issue.keys[0]! : field });
  }
  try {
    const id = bus.subscribe(parsed.data.url, parsed.data.detailTypes ? { detailTypes: parsed.data.detailTypes } : {});
    sendJson(res, 201, { id });
  } catch (err) {
    if (err instanceof SubscriptionError) return sendJson(res, 400, { error: err.message, field: err.field });
    throw err;
  }
}

export function handleUnsubscribe(bus: EventBus, req: IncomingMessage, res: ServerResponse): void {
  const path = pathOf(req);
  const id = decodeURIComponent(path.slice(SUBSCRIPTIONS_PATH.length + 1));
  if (!id || id.includes('/')) return sendJson(res, 400, { error: `expected DELETE ${SUBSCRIPTIONS_PATH}/<id>`, field: 'id' });
  if (!bus.unsubscribe(id)) return sendJson(res, 404, { error: `no subscription "${id}"`, field: 'id' });
  res.writeHead(204);
  res.end();
}

export function handleRecent(bus: EventBus, req: IncomingMessage, res: ServerResponse): void {
  const q = new URL(req.url ?? '/', 'http://lab.invalid').searchParams;
  const detailType = q.get('detailType') ?? undefined;
  if (detailType !== undefined && !(DETAIL_TYPES as readonly string[]).includes(detailType))
    return sendJson(res, 400, { error: `unknown detail-type "${detailType}"; expected one of: ${DETAIL_TYPES.join(', ')}`, field: 'detailType' });
  const limitText = q.get('limit');
  const limit = limitText === null ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    return sendJson(res, 400, { error: `limit must be a non-negative integer, got "${limitText}"`, field: 'limit' });
  const events = bus.recent({
    ...(detailType ? { detailType: detailType as (typeof DETAIL_TYPES)[number] } : {}),
    ...(limit !== undefined ? { limit } : {}),
  });
  sendJson(res, 200, { events, deliveries: bus.deliveries() });
}

/** The events routes for the API server's extraRoutes. */
export function createEventRoutes(bus: EventBus): EventRoute[] {
  return [
    { method: 'POST', path: SUBSCRIPTIONS_PATH, handle: (req, res) => handleSubscribe(bus, req, res) },
    { method: 'GET', path: SUBSCRIPTIONS_PATH, handle: (_req, res) => sendJson(res, 200, { subscriptions: bus.subscriptions() }) },
    { method: 'DELETE', path: `${SUBSCRIPTIONS_PATH}/`, handle: (req, res) => handleUnsubscribe(bus, req, res) },
    { method: 'GET', path: RECENT_PATH, handle: (req, res) => handleRecent(bus, req, res) },
  ];
}

/**
 * The same routes as one request handler, for servers that do not route by
 * path: answers and returns true when the request is an events request.
 */
export function createEventsHandler(bus: EventBus): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path === SUBSCRIPTIONS_PATH && method === 'POST') await handleSubscribe(bus, req, res);
    else if (path === SUBSCRIPTIONS_PATH && method === 'GET') sendJson(res, 200, { subscriptions: bus.subscriptions() });
    else if (path.startsWith(`${SUBSCRIPTIONS_PATH}/`) && method === 'DELETE') handleUnsubscribe(bus, req, res);
    else if (path === RECENT_PATH && method === 'GET') handleRecent(bus, req, res);
    else if (path === SUBSCRIPTIONS_PATH || path.startsWith(`${SUBSCRIPTIONS_PATH}/`) || path === RECENT_PATH)
      sendJson(res, 405, { error: `${method} is not allowed on ${path}`, field: 'method' });
    else return false;
    return true;
  };
}
