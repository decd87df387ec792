// Per-instance notices that AWS shows both as EventBridge events and in IMDS:
// the Spot interruption notice (spot/instance-action) and the rebalance
// recommendation (events/recommendations/rebalance). As in AWS, a Spot
// interruption stops or terminates the instance two minutes after the warning.

import { ApiError } from '../errors.js';
import type { LabStore } from '../store.js';
import { isoSeconds, originOf, rebalanceRecommendationEvent, spotInterruptionEvent, type LabEvent, type SpotInstanceAction } from './shapes.js';

export interface SpotNotice {
  action: SpotInstanceAction;
  /** When the action happens (epoch ms); IMDS shows it as "time". */
  at: number;
  /** When the warning was given (epoch ms). */
  noticedAt: number;
}

export interface RebalanceNotice {
  /** When the recommendation was made (epoch ms); IMDS shows it as "noticeTime". */
  noticeTime: number;
}

export interface NoticeBoardOptions {
  store: LabStore;
  /** Where the warnings are published (an EventBus). */
  events?: { publish(event: LabEvent): void };
  /** Delay between the Spot warning and the action (AWS: two minutes). */
  interruptionDelayMs?: number;
}

export const SPOT_INTERRUPTION_DELAY_MS = 120_000;

export class NoticeBoard {
  private readonly store: LabStore;
  private readonly events: NoticeBoardOptions['events'];
  readonly interruptionDelayMs: number;
  private readonly spot = new Map<string, SpotNotice>();
  private readonly rebalances = new Map<string, RebalanceNotice>();
  private readonly cancels = new Map<string, () => void>();
  private readonly unwatch: () => void;

  constructor(opts: NoticeBoardOptions) {
    this.store = opts.store;
    this.events = opts.events;
    this.interruptionDelayMs = opts.interruptionDelayMs ?? SPOT_INTERRUPTION_DELAY_MS;
    // Notices belong to one run of the instance: they go when it stops or terminates.
    this.unwatch = this.store.onChange((c) => {
      if (c.kind === 'instance-state' && (c.to === 'stopped' || c.to === 'terminated')) this.clear(c.instanceId);
    });
  }

  /**
   * Gives a Spot interruption warning: the notice appears in IMDS, the EventBridge
   * warning is published, and after interruptionDelayMs the instance is stopped
   * (action stop/hibernate) or terminated. The lab does not require the instance
   * to be a Spot instance: any running instance can be "interrupted" for testing.
   */
  spotInterrupt(instanceId: string, action: SpotInstanceAction = 'terminate'): SpotNotice {
    const inst = this.store.instance(instanceId);
    if (inst.state !== 'running' && inst.state !== 'pending')
      throw new ApiError('IncorrectInstanceState', `The instance '${instanceId}' is ${inst.state}; only a running instance can be interrupted.`);
    const existing = this.spot.get(instanceId);
    // AWS gives one warning per interruption; a second request does not move the deadline.
    if (existing) return { ...existing };
    const now = this.store.clock.now();
    const notice: SpotNotice = { action, at: now + this.interruptionDelayMs, noticedAt: now };
    this.spot.set(instanceId, notice);
    this.events?.publish(spotInterruptionEvent(originOf(this.store), instanceId, action));
    const cancel = this.store.schedule(this.interruptionDelayMs, () => {
      this.cancels.delete(instanceId);
      const cur = this.store.instances.get(instanceId);
      if (!cur || (cur.state !== 'running' && cur.state !== 'pending')) return;
      const reason = 'Server.SpotInstanceTermination: Spot instance termination';
      if (action === 'terminate') this.store.terminateInstance(instanceId, reason);
      else this.store.stopInstance(instanceId, reason);
    });
    this.cancels.set(instanceId, cancel);
    return { ...notice };
  }

  /** Records a rebalance recommendation and publishes its event. */
  rebalance(instanceId: string): RebalanceNotice {
    const inst = this.store.instance(instanceId);
    if (inst.state !== 'running' && inst.state !== 'pending')
      throw new ApiError('IncorrectInstanceState', `The instance '${instanceId}' is ${inst.state}; only a running instance gets a rebalance recommendation.`);
    const existing = this.rebalances.get(instanceId);
    if (existing) return { ...existing };
    const notice: RebalanceNotice = { noticeTime: this.store.clock.now() };
    this.rebalances.set(instanceId, notice);
    this.events?.publish(rebalanceRecommendationEvent(originOf(this.store), instanceId));
    return { ...notice };
  }

  spotNotice(instanceId: string): SpotNotice | undefined {
    const n = this.spot.get(instanceId);
    return n ? { ...n } : undefined;
  }

  rebalanceNotice(instanceId: string): RebalanceNotice | undefined {
    const n = this.rebalances.get(instanceId);
    return n ? { ...n } : undefined;
  }

  /** IMDS's spot/instance-action document, or undefined (IMDS answers 404). */
  instanceActionDocument(instanceId: string): { action: SpotInstanceAction; time: string } | undefined {
    const n = this.spot.get(instanceId);
    return n ? { action: n.action, time: isoSeconds(n.at) } : undefined;
  }

  /** IMDS's events/recommendations/rebalance document, or undefined (IMDS answers 404). */
  rebalanceDocument(instanceId: string): { noticeTime: string } | undefined {
    const n = this.rebalances.get(instanceId);
    return n ? { noticeTime: isoSeconds(n.noticeTime) } : undefined;
  }

  /** Every current notice, for status pages. */
  all(): { instanceId: string; spot?: SpotNotice; rebalance?: RebalanceNotice }[] {
    const ids = new Set([...this.spot.keys(), ...this.rebalances.keys()]);
    return [...ids].sort().map((instanceId) => {
      const spot = this.spotNotice(instanceId);
      const rebalance = this.rebalanceNotice(instanceId);
      return { instanceId, ...(spot ? { spot } : {}), ...(rebalance ? { rebalance } : {}) };
    });
  }

  /** Forgets an instance's notices and cancels a pending interruption. */
  clear(instanceId: string): void {
    this.spot.delete(instanceId);
    this.rebalances.delete(instanceId);
    this.cancels.get(instanceId)?.();
    this.cancels.delete(instanceId);
  }

  /** Stops watching the store and cancels pending interruptions. */
  stop(): void {
    this.unwatch();
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }
}
