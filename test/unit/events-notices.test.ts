import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import { ApiError } from '../../lab/emulator/errors.js';
import { NoticeBoard, SPOT_INTERRUPTION_DELAY_MS } from '../../lab/emulator/events/notices.js';
import type { LabEvent } from '../../lab/emulator/events/shapes.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

const START = Date.parse('2024-03-01T12:00:00.000Z');
const stores: LabStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.dispose();
});

function setup(interruptionDelayMs?: number) {
  const clock = new ManualClock(START);
  const { store, manifest } = buildLab(topologySchema.parse({}), clock);
  stores.push(store);
  const published: LabEvent[] = [];
  const notices = new NoticeBoard({
    store,
    events: { publish: (e) => published.push(e) },
    ...(interruptionDelayMs !== undefined ? { interruptionDelayMs } : {}),
  });
  return { clock, store, notices, published, nat: manifest.zones[0]!.natInstanceIds[0]! };
}

describe('NoticeBoard: Spot interruption', () => {
  it('records the notice, publishes the warning, and terminates the instance two minutes later', () => {
    const { clock, store, notices, published, nat } = setup();
    expect(SPOT_INTERRUPTION_DELAY_MS).toBe(120_000);
    expect(notices.instanceActionDocument(nat)).toBeUndefined();
    const notice = notices.spotInterrupt(nat);
    expect(notice).toEqual({ action: 'terminate', at: START + 120_000, noticedAt: START });
    expect(notices.instanceActionDocument(nat)).toEqual({ action: 'terminate', time: '2024-03-01T12:02:00Z' });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      'detail-type': 'EC2 Spot Instance Interruption Warning',
      source: 'aws.ec2',
      detail: { 'instance-id': nat, 'instance-action': 'terminate' },
    });
    clock.advance(119_999);
    expect(store.instance(nat).state).toBe('running');
    clock.advance(1);
    expect(store.instance(nat).state).toBe('shutting-down');
    expect(store.instance(nat).stateReason).toMatch(/Spot/);
    clock.advance(store.timings.instanceTerminateMs);
    expect(store.instance(nat).state).toBe('terminated');
    // The notice goes with the instance.
    expect(notices.spotNotice(nat)).toBeUndefined();
  });

  it('action stop stops the instance; the delay is configurable', () => {
    const { clock, store, notices, nat } = setup(5000);
    notices.spotInterrupt(nat, 'stop');
    clock.advance(5000);
    expect(store.instance(nat).state).toBe('stopping');
  });

  it('a second warning does not move the deadline or publish again', () => {
    const { clock, notices, published, nat } = setup();
    notices.spotInterrupt(nat);
    clock.advance(60_000);
    expect(notices.spotInterrupt(nat, 'stop')).toMatchObject({ action: 'terminate', at: START + 120_000 });
    expect(published).toHaveLength(1);
  });

  it('refuses instances that are not running, and unknown ones', () => {
    const { clock, store, notices, nat } = setup();
    store.stopInstance(nat);
    clock.advance(store.timings.instanceStopMs);
    expect(() => notices.spotInterrupt(nat)).toThrow(ApiError);
    expect(() => notices.spotInterrupt('i-0nothere')).toThrow(/does not exist/);
  });

  it('stopping the instance first cancels the interruption', () => {
    const { clock, store, notices, nat } = setup();
    notices.spotInterrupt(nat);
    store.stopInstance(nat);
    clock.advance(store.timings.instanceStopMs);
    store.startInstance(nat);
    clock.advance(store.timings.instanceStartMs);
    clock.advance(200_000);
    expect(store.instance(nat).state).toBe('running');
    expect(notices.spotNotice(nat)).toBeUndefined();
  });

  it('stop() cancels pending interruptions', () => {
    const { clock, store, notices, nat } = setup();
    notices.spotInterrupt(nat);
    notices.stop();
    clock.advance(200_000);
    expect(store.instance(nat).state).toBe('running');
  });
});

describe('NoticeBoard: rebalance recommendation', () => {
  it('records the notice time and publishes the recommendation once', () => {
    const { clock, notices, published, nat } = setup();
    clock.advance(1500);
    expect(notices.rebalance(nat)).toEqual({ noticeTime: START + 1500 });
    expect(notices.rebalanceDocument(nat)).toEqual({ noticeTime: '2024-03-01T12:00:01Z' });
    notices.rebalance(nat);
    expect(published.map((e) => e['detail-type'])).toEqual(['EC2 Instance Rebalance Recommendation']);
    expect(published[0]!.detail).toEqual({ 'instance-id': nat });
    expect(notices.all()).toEqual([{ instanceId: nat, rebalance: { noticeTime: START + 1500 } }]);
    notices.clear(nat);
    expect(notices.rebalanceDocument(nat)).toBeUndefined();
  });
});
