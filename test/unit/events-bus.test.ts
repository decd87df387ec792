import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import { EventBus, SubscriptionError, checkWebhookUrl } from '../../lab/emulator/events/bus.js';
import { rebalanceRecommendationEvent, spotInterruptionEvent, type LabEvent } from '../../lab/emulator/events/shapes.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const instanceIdOf = (e: LabEvent) => (e.detail as { 'instance-id': string })['instance-id'];
const origin = { region: 'us-east-1', accountId: '123456789012', now: () => 0 };
const buses: EventBus[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});
const newBus = (...args: ConstructorParameters<typeof EventBus>) => {
  const b = new EventBus(...args);
  buses.push(b);
  return b;
};

function subscriptionError(fn: () => unknown): SubscriptionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SubscriptionError) return err;
    throw err;
  }
  throw new Error('expected a SubscriptionError');
}

describe('webhook URLs (network-safety rule)', () => {
  it.each(['http://127.0.0.1:8080/hook', 'http://localhost:1/x', 'http://[::1]:9000/', 'http://127.0.0.1/'])('accepts %s', (url) => {
    expect(checkWebhookUrl(url).toString()).toBe(new URL(url).toString());
  });

  it.each([
    ['http://10.0.0.1:8080/hook', /127\.0\.0\.1, localhost or \[::1\]/],
    ['http://example.com/hook', /network-safety/],
    ['http://127.0.0.1.nip.io/hook', /network-safety/],
    ['http://127.0.0.2/hook', /network-safety/],
    ['http://0.0.0.0:80/', /network-safety/],
    ['https://127.0.0.1/hook', /must use http:/],
    ['file:///etc/passwd', /must use http:/],
    ['http://user:pw@127.0.0.1/', /credentials/],
    ['not a url', /not a URL/],
  ])('rejects %s', (url, why) => {
    const err = subscriptionError(() => checkWebhookUrl(url));
    expect(err.field).toBe('url');
    expect(err.message).toMatch(why);
  });
});

describe('EventBus subscriptions', () => {
  it('subscribes, lists and unsubscribes', () => {
    const bus = newBus();
    const id = bus.subscribe('http://127.0.0.1:9/hook', { detailTypes: ['EC2 Spot Instance Interruption Warning'] });
    expect(id).toMatch(/^sub-/);
    expect(bus.subscriptions()).toEqual([
      expect.objectContaining({ id, url: 'http://127.0.0.1:9/hook', detailTypes: ['EC2 Spot Instance Interruption Warning'] }),
    ]);
    expect(bus.unsubscribe(id)).toBe(true);
    expect(bus.unsubscribe(id)).toBe(false);
    expect(bus.subscriptions()).toEqual([]);
  });

  it('rejects unknown detail-types, naming the entry', () => {
    const bus = newBus();
    const err = subscriptionError(() =>
      bus.subscribe('http://127.0.0.1:9/', { detailTypes: ['EC2 Instance State-change Notification', 'EC2 Spot Warning'] }),
    );
    expect(err.field).toBe('detailTypes[1]');
    expect(bus.subscriptions()).toEqual([]);
  });

  it('rejects a non-loopback webhook and keeps nothing', () => {
    const bus = newBus();
    expect(() => bus.subscribe('http://192.0.2.1/hook')).toThrow(SubscriptionError);
    expect(bus.subscriptions()).toEqual([]);
  });
});

describe('EventBus.recent', () => {
  it('keeps the last N published events, oldest first, filterable', () => {
    const bus = newBus({ recentLimit: 3 });
    for (let i = 0; i < 5; i++) bus.publish(rebalanceRecommendationEvent(origin, `i-${i}`));
    bus.publish(spotInterruptionEvent(origin, 'i-9', 'stop'));
    const recent = bus.recent();
    expect(recent.map(instanceIdOf)).toEqual(['i-3', 'i-4', 'i-9']);
    expect(bus.recent({ detailType: 'EC2 Spot Instance Interruption Warning' })).toHaveLength(1);
    expect(instanceIdOf(bus.recent({ limit: 1 })[0]!)).toBe('i-9');
    // Copies: changing them does not change the bus.
    recent[0]!.id = 'x';
    expect(bus.recent()[0]!.id).not.toBe('x');
  });

  it('publishes nothing after close', async () => {
    const bus = newBus();
    await bus.close();
    bus.publish(rebalanceRecommendationEvent(origin, 'i-1'));
    expect(bus.recent()).toEqual([]);
    expect(() => bus.subscribe('http://127.0.0.1:9/')).toThrow(/closed/);
  });
});

describe('EventBus watching the store', () => {
  it('publishes an EC2 Instance State-change Notification for every instance state change', async () => {
    const clock = new ManualClock(Date.parse('2024-01-02T03:04:05.000Z'));
    const { store, manifest } = buildLab(topologySchema.parse({}), clock);
    const bus = newBus({ store });
    const nat = manifest.zones[0]!.natInstanceIds[0]!;
    store.stopInstance(nat);
    clock.advance(store.timings.instanceStopMs);
    const launched = store.launchInstance({ subnetId: manifest.zones[1]!.publicSubnetId, role: 'app' });
    clock.advance(store.timings.instanceStartMs);
    const changes = bus.recent({ detailType: 'EC2 Instance State-change Notification' }).map((e) => [instanceIdOf(e), (e.detail as { state: string }).state]);
    expect(changes).toEqual([
      [nat, 'stopping'],
      [nat, 'stopped'],
      [launched.instanceId, 'pending'],
      [launched.instanceId, 'running'],
    ]);
    const first = bus.recent()[0]!;
    expect(first.time).toBe('2024-01-02T03:04:05Z');
    expect(first.resources).toEqual([`arn:aws:ec2:us-east-1:123456789012:instance/${nat}`]);
    await bus.close();
    store.startInstance(nat);
    expect(bus.recent()).toHaveLength(4);
    store.dispose();
  });
});
