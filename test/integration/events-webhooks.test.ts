// Webhook delivery over real HTTP on 127.0.0.1: retries, timeouts, dead webhooks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type EventBusOptions } from '../../lab/emulator/events/bus.js';
import { NoticeBoard } from '../../lab/emulator/events/notices.js';
import { rebalanceRecommendationEvent, spotInterruptionEvent, type LabEvent } from '../../lab/emulator/events/shapes.js';
import { systemClock } from '../../lab/emulator/clock.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const origin = { region: 'us-east-1', accountId: '123456789012', now: () => Date.now() };

interface Hook {
  url: string;
  received: { headers: IncomingMessage['headers']; body: LabEvent }[];
  /** How to answer each request (default 200). */
  answer: (n: number, req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function webhook(host = '127.0.0.1'): Promise<Hook> {
  let n = 0;
  const hook: Hook = {
    url: '',
    received: [],
    answer: (_n, _req, res) => {
      res.writeHead(200);
      res.end('ok');
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as LabEvent });
      hook.answer(++n, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  hook.url = `http://${host === '::1' ? '[::1]' : host}:${port}/hook`;
  cleanups.push(hook.close);
  return hook;
}

function bus(opts: EventBusOptions = {}): EventBus {
  const b = new EventBus({ backoffMs: 10, timeoutMs: 500, ...opts });
  cleanups.push(() => b.close());
  return b;
}

describe('EventBus webhook delivery', () => {
  it('POSTs the event as JSON to matching subscriptions only, without blocking the publisher', async () => {
    const all = await webhook();
    const spotOnly = await webhook();
    const b = bus();
    b.subscribe(all.url);
    b.subscribe(spotOnly.url, { detailTypes: ['EC2 Spot Instance Interruption Warning'] });
    const rebalance = rebalanceRecommendationEvent(origin, 'i-0aaa');
    const spot = spotInterruptionEvent(origin, 'i-0bbb', 'terminate');
    b.publish(rebalance);
    b.publish(spot);
    // publish() returned before anything reached the webhooks.
    expect(all.received).toHaveLength(0);
    await b.idle();
    expect(all.received.map((r) => r.body)).toEqual(expect.arrayContaining([rebalance, spot]));
    expect(all.received).toHaveLength(2);
    expect(spotOnly.received.map((r) => r.body)).toEqual([spot]);
    expect(all.received[0]!.headers['content-type']).toBe('application/json');
    expect(b.deliveries().filter((d) => d.status === 'delivered')).toHaveLength(3);
  });

  it('delivers to localhost and [::1] too', async () => {
    const v6 = await webhook('::1').catch(() => undefined);
    const local = await webhook('127.0.0.1');
    const b = bus();
    b.subscribe(local.url.replace('127.0.0.1', 'localhost'));
    if (v6) b.subscribe(v6.url);
    b.publish(rebalanceRecommendationEvent(origin, 'i-0ccc'));
    await b.idle();
    expect(local.received).toHaveLength(1);
    if (v6) expect(v6.received).toHaveLength(1);
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    const hook = await webhook();
    hook.answer = (n, _req, res) => {
      res.writeHead(n === 1 ? 503 : n === 2 ? 429 : 204);
      res.end();
    };
    const b = bus({ maxAttempts: 4 });
    const sub = b.subscribe(hook.url);
    const started = Date.now();
    b.publish(rebalanceRecommendationEvent(origin, 'i-0ddd'));
    await b.idle();
    expect(hook.received).toHaveLength(3);
    // Backoff 10 ms then 20 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(b.deliveries()).toEqual([expect.objectContaining({ subscriptionId: sub, status: 'delivered', attempts: 3, httpStatus: 204 })]);
  });

  it('does not retry other 4xx answers', async () => {
    const hook = await webhook();
    hook.answer = (_n, _req, res) => {
      res.writeHead(400);
      res.end();
    };
    const b = bus({ maxAttempts: 4 });
    b.subscribe(hook.url);
    b.publish(rebalanceRecommendationEvent(origin, 'i-0eee'));
    await b.idle();
    expect(hook.received).toHaveLength(1);
    expect(b.deliveries()[0]).toMatchObject({ status: 'failed', attempts: 1, httpStatus: 400, error: 'HTTP 400' });
  });

  it('gives up on a dead webhook after the bounded attempts, without throwing', async () => {
    const hook = await webhook();
    const deadUrl = hook.url;
    await hook.close();
    const b = bus({ maxAttempts: 3 });
    b.subscribe(deadUrl);
    expect(() => b.publish(rebalanceRecommendationEvent(origin, 'i-0fff'))).not.toThrow();
    await b.idle();
    const [d] = b.deliveries();
    expect(d).toMatchObject({ status: 'failed', attempts: 3 });
    expect(d!.error).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('times out a webhook that never answers', async () => {
    const hook = await webhook();
    hook.answer = () => {
      /* never answers */
    };
    const b = bus({ maxAttempts: 2, timeoutMs: 100 });
    b.subscribe(hook.url);
    b.publish(rebalanceRecommendationEvent(origin, 'i-0abc'));
    await b.idle();
    expect(hook.received).toHaveLength(2);
    expect(b.deliveries()[0]).toMatchObject({ status: 'failed', attempts: 2, error: 'timed out after 100 ms' });
  });

  it('close() cancels retries and aborts deliveries in flight', async () => {
    const hook = await webhook();
    hook.answer = () => {};
    const b = new EventBus({ backoffMs: 10_000, timeoutMs: 10_000, maxAttempts: 5 });
    b.subscribe(hook.url);
    b.publish(rebalanceRecommendationEvent(origin, 'i-0abc'));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await b.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(b.deliveries()[0]).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('an unsubscribed webhook gets no more retries', async () => {
    const hook = await webhook();
    hook.answer = (_n, _req, res) => {
      res.writeHead(500);
      res.end();
    };
    const b = bus({ maxAttempts: 5, backoffMs: 50 });
    const id = b.subscribe(hook.url);
    b.publish(rebalanceRecommendationEvent(origin, 'i-0abc'));
    await new Promise((r) => setTimeout(r, 20));
    b.unsubscribe(id);
    await b.idle();
    expect(hook.received).toHaveLength(1);
  });

  it('carries the store’s state changes and the notice board’s warnings to a webhook', async () => {
    const hook = await webhook();
    const { store, manifest } = buildLab(topologySchema.parse({}), systemClock);
    cleanups.push(async () => store.dispose());
    const b = bus({ store });
    const notices = new NoticeBoard({ store, events: b, interruptionDelayMs: 20 });
    cleanups.push(async () => notices.stop());
    b.subscribe(hook.url, { detailTypes: ['EC2 Spot Instance Interruption Warning', 'EC2 Instance State-change Notification'] });
    const nat = manifest.zones[0]!.natInstanceIds[0]!;
    notices.spotInterrupt(nat);
    await new Promise((r) => setTimeout(r, 100));
    await b.idle();
    const seen = hook.received.map((r) => [r.body['detail-type'], (r.body.detail as { state?: string }).state]);
    expect(seen[0]).toEqual(['EC2 Spot Instance Interruption Warning', undefined]);
    expect(seen).toContainEqual(['EC2 Instance State-change Notification', 'shutting-down']);
  });
});
