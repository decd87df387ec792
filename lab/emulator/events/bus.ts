// The lab's EventBridge: events are published here and POSTed as JSON to the
// webhooks that subscribed to their detail-type. Delivery never blocks the
// publisher and never throws at it: a dead webhook costs a few bounded retries
// and a line in the delivery log, nothing more.
//
// Network-safety rule: webhooks may only be on the loopback interface
// (http://127.0.0.1, http://localhost, http://[::1]); the lab never sends
// anything to another host.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../src/telemetry/logger.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { systemClock, type Clock } from '../clock.js';
import type { LabStore } from '../store.js';
import { DETAIL_TYPES, instanceStateChangeEvent, originOf, type DetailType, type LabEvent } from './shapes.js';

/** A bad subscription request; `field` names the offending input. */
export class SubscriptionError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

export interface Subscription {
  id: string;
  url: string;
  /** Empty: every event. */
  detailTypes: DetailType[];
  createdAt: string;
}

export interface DeliveryRecord {
  eventId: string;
  detailType: DetailType;
  subscriptionId: string;
  url: string;
  status: 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt, when there was a response. */
  httpStatus?: number;
  error?: string;
  time: string;
}

export interface EventBusOptions {
  /** When given, every instance state change in the store is published as "EC2 Instance State-change Notification". */
  store?: LabStore;
  log?: Logger;
  /** Timers for retry backoff. Default: the system clock (delivery is real I/O). */
  clock?: Clock;
  /** Attempts per event and webhook, first one included (default 4). */
  maxAttempts?: number;
  /** Backoff before retry n is backoffMs * 2^(n-1) (default 250 ms: 250, 500, 1000). */
  backoffMs?: number;
  /** Per-attempt timeout (default 3000 ms). */
  timeoutMs?: number;
  /** How many published events recent() keeps (default 500), and how many delivery records. */
  recentLimit?: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Accepts only plain-HTTP webhooks on the loopback interface; throws SubscriptionError otherwise. */
export function checkWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SubscriptionError(`"${raw}" is not a URL; expected e.g. http://127.0.0.1:8080/hook`, 'url');
  }
  if (url.protocol !== 'http:')
    throw new SubscriptionError(`webhook URL must use http:, got ${url.protocol} (the lab only delivers to local webhooks)`, 'url');
  if (!LOOPBACK_HOSTS.has(url.hostname))
    throw new SubscriptionError(
      `webhook host must be 127.0.0.1, localhost or [::1], got "${url.hostname}" (network-safety rule: the lab never sends events off this machine)`,
      'url',
    );
  if (url.username || url.password) throw new SubscriptionError('webhook URL must not carry credentials', 'url');
  return url;
}

export class EventBus {
  private readonly subs = new Map<string, Subscription>();
  private readonly events: LabEvent[] = [];
  private readonly log_: DeliveryRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Backoff timers, with the resolver that wakes their delivery when the bus closes. */
  private readonly sleepers = new Map<unknown, (ok: boolean) => void>();
  private readonly controllers = new Set<AbortController>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly recentLimit: number;
  private readonly unwatch: (() => void) | undefined;
  private closed = false;

  constructor(opts: EventBusOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.backoffMs = Math.max(0, opts.backoffMs ?? 250);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 3000);
    this.recentLimit = Math.max(1, opts.recentLimit ?? 500);
    const store = opts.store;
    if (store) {
      const origin = originOf(store);
      this.unwatch = store.onChange((c) => {
        if (c.kind === 'instance-state') this.publish(instanceStateChangeEvent(origin, c.instanceId, c.to));
        else if (c.kind === 'instance-launched') {
          const state = store.instances.get(c.instanceId)?.state ?? 'pending';
          this.publish(instanceStateChangeEvent(origin, c.instanceId, state));
        }
      });
    }
  }

  // ---- subscriptions ----------------------------------------------------------

  /** Adds a webhook; returns the subscription ID. Throws SubscriptionError on a bad URL or detail-type. */
  subscribe(url: string, opts: { detailTypes?: readonly string[] } = {}): string {
    if (this.closed) throw new Error('the event bus is closed');
    const checked = checkWebhookUrl(url);
    const detailTypes = [...new Set(opts.detailTypes ?? [])];
    detailTypes.forEach((d, i) => {
      if (!(DETAIL_TYPES as readonly string[]).includes(d))
        throw new SubscriptionError(`unknown detail-type "${d}"; expected one of: ${DETAIL_TYPES.join(', ')}`, `detailTypes[${i}]`);
    });
    const id = `sub-${randomUUID()}`;
    this.subs.set(id, {
      id,
      url: checked.toString(),
      detailTypes: detailTypes as DetailType[],
      createdAt: new Date(this.clock.now()).toISOString(),
    });
    this.log.info('lab.events.subscribed', { subscriptionId: id, url: checked.toString(), detailTypes });
    return id;
  }

  /** Removes a subscription; false when there was none with that ID. */
  unsubscribe(id: string): boolean {
    const had = this.subs.delete(id);
    if (had) this.log.info('lab.events.unsubscribed', { subscriptionId: id });
    return had;
  }

  subscriptions(): Subscription[] {
    return [...this.subs.values()].map((s) => ({ ...s, detailTypes: [...s.detailTypes] }));
  }

  // ---- publishing -------------------------------------------------------------

  /** Records the event and starts delivering it; returns at once and never throws. */
  publish(event: LabEvent): void {
    if (this.closed) return;
    this.events.push(event);
    if (this.events.length > this.recentLimit) this.events.splice(0, this.events.length - this.recentLimit);
    this.log.debug('lab.events.published', { eventId: event.id, detailType: event['detail-type'], resources: event.resources });
    for (const sub of this.subs.values()) {
      if (sub.detailTypes.length > 0 && !sub.detailTypes.includes(event['detail-type'])) continue;
      const p = this.deliver(sub, event).catch((err: unknown) => {
        this.log.error('lab.events.delivery-bug', { error: err as Error });
      });
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** The last published events, oldest first (optionally only one detail-type). */
  recent(filter: { detailType?: DetailType; limit?: number } = {}): LabEvent[] {
    let out = filter.detailType ? this.events.filter((e) => e['detail-type'] === filter.detailType) : [...this.events];
    if (filter.limit !== undefined) out = out.slice(-Math.max(0, filter.limit));
    return structuredClone(out);
  }

  /** The outcome of each finished delivery, oldest first. */
  deliveries(): DeliveryRecord[] {
    return this.log_.map((d) => ({ ...d }));
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops watching the store, cancels retries and aborts deliveries in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    for (const [handle, wake] of this.sleepers) {
      this.clock.clearTimeout(handle);
      wake(false);
    }
    this.sleepers.clear();
    for (const c of this.controllers) c.abort();
    await this.idle();
  }

  // ---- delivery ---------------------------------------------------------------

  private async deliver(sub: Subscription, event: LabEvent): Promise<void> {
    const body = JSON.stringify(event);
    let attempts = 0;
    let httpStatus: number | undefined;
    let error: string | undefined;
    while (attempts < this.maxAttempts && !this.closed) {
      if (attempts > 0) {
        const ok = await this.sleep(this.backoffMs * 2 ** (attempts - 1));
        if (!ok || !this.subs.has(sub.id)) break;
      }
      attempts++;
      const controller = new AbortController();
      this.controllers.add(controller);
      const timer = this.clock.setTimeout(() => controller.abort(), this.timeoutMs);
      try {
        const res = await fetch(sub.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'natkeeper-lab-events' },
          body,
          signal: controller.signal,
          redirect: 'manual',
        });
        httpStatus = res.status;
        // Drain the body so the connection is released.
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) {
          this.record(sub, event, 'delivered', attempts, httpStatus);
          return;
        }
        error = `HTTP ${res.status}`;
        // Like EventBridge API destinations: 429 and 5xx are retried, other answers are final.
        if (res.status !== 429 && res.status < 500) break;
      } catch (err) {
        httpStatus = undefined;
        error = controller.signal.aborted && !this.closed ? `timed out after ${this.timeoutMs} ms` : describeFetchError(err);
      } finally {
        this.clock.clearTimeout(timer);
        this.controllers.delete(controller);
      }
    }
    this.record(sub, event, 'failed', attempts, httpStatus, error ?? 'bus closed');
  }

  /** Waits ms on the clock; false when the bus was closed meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(false);
      const handle = this.clock.setTimeout(() => {
        this.sleepers.delete(handle);
        resolve(!this.closed);
      }, ms);
      this.sleepers.set(handle, resolve);
    });
  }

  private record(sub: Subscription, event: LabEvent, status: DeliveryRecord['status'], attempts: number, httpStatus?: number, error?: string) {
    const rec: DeliveryRecord = {
      eventId: event.id,
      detailType: event['detail-type'],
      subscriptionId: sub.id,
      url: sub.url,
      status,
      attempts,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(error ? { error } : {}),
      time: new Date(this.clock.now()).toISOString(),
    };
    this.log_.push(rec);
    if (this.log_.length > this.recentLimit) this.log_.splice(0, this.log_.length - this.recentLimit);
    if (status === 'failed')
      this.log.warn('lab.events.delivery-failed', { eventId: event.id, subscriptionId: sub.id, url: sub.url, attempts, error });
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
