// The events HTTP endpoints, served by a plain http server on 127.0.0.1 (port 0).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../lab/emulator/events/bus.js';
import { createEventRoutes, createEventsHandler } from '../../lab/emulator/events/routes.js';
import { rebalanceRecommendationEvent } from '../../lab/emulator/events/shapes.js';

let server: Server;
let base: string;
const bus = new EventBus({ maxAttempts: 1 });

beforeAll(async () => {
  const handle = createEventsHandler(bus);
  server = createServer((req, res) => {
    handle(req, res)
      .then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await bus.close();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: string) => fetch(`${base}/events/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('events routes', () => {
  it('POST /events/subscriptions → 201 {id}; GET lists; DELETE removes', async () => {
    const res = await post(JSON.stringify({ url: 'http://127.0.0.1:9/hook', detailTypes: ['EC2 Instance Rebalance Recommendation'] }));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(bus.subscriptions().map((s) => s.id)).toContain(id);
    const list = (await (await fetch(`${base}/events/subscriptions`)).json()) as { subscriptions: { id: string }[] };
    expect(list.subscriptions.map((s) => s.id)).toContain(id);
    const del = await fetch(`${base}/events/subscriptions/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const again = await fetch(`${base}/events/subscriptions/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ field: 'id' });
  });

  it.each([
    ['not json', '{url', '(body)'],
    ['no url', '{}', 'url'],
    ['url not a string', '{"url": 5}', 'url'],
    ['unknown field', '{"url": "http://127.0.0.1:9/", "filter": 1}', 'filter'],
    ['bad detail type', '{"url": "http://127.0.0.1:9/", "detailTypes": ["EC2 Instance State-change Notification", "nope"]}', 'detailTypes[1]'],
    ['detailTypes not a list', '{"url": "http://127.0.0.1:9/", "detailTypes": "EC2 Instance Rebalance Recommendation"}', 'detailTypes'],
    ['remote webhook', '{"url": "http://203.0.113.5/hook"}', 'url'],
    ['https webhook', '{"url": "https://localhost/hook"}', 'url'],
  ])('400 for %s, naming the field', async (_name, body, field) => {
    const before = bus.subscriptions().length;
    const res = await post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: string; field: string };
    expect(json.field).toBe(field);
    expect(json.error.length).toBeGreaterThan(5);
    expect(bus.subscriptions()).toHaveLength(before);
  });

  it('GET /events/recent returns published events, filterable', async () => {
    bus.publish(rebalanceRecommendationEvent({ region: 'us-east-1', accountId: '123456789012', now: () => 0 }, 'i-0recent'));
    const res = await fetch(`${base}/events/recent?detailType=${encodeURIComponent('EC2 Instance Rebalance Recommendation')}&limit=1`);
    expect(res.status).toBe(200);
    const json = (await res.json()) as { events: { detail: { 'instance-id': string } }[]; deliveries: unknown[] };
    expect(json.events.map((e) => e.detail['instance-id'])).toEqual(['i-0recent']);
    expect(Array.isArray(json.deliveries)).toBe(true);
    expect((await fetch(`${base}/events/recent?limit=-1`)).status).toBe(400);
    expect((await fetch(`${base}/events/recent?detailType=nope`)).status).toBe(400);
  });

  it('405 for other methods on events paths', async () => {
    expect((await fetch(`${base}/events/recent`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('createEventRoutes describes the same endpoints for the API server', () => {
    expect(createEventRoutes(bus).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /events/subscriptions',
      'GET /events/subscriptions',
      'DELETE /events/subscriptions/',
      'GET /events/recent',
    ]);
  });
});
