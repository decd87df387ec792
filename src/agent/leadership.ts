// Leader election over the lease store: every agent campaigns; the one holding the
// lease (with its fencing token) is the leader and will run the controller (DESIGN.md:
// "agent: … (when leader) controller").
//
// Each round (every renewEveryMs): the holder renews; everyone else tries acquire(),
// which succeeds only when the lease is free or expired. The leader believes in its
// lease only until `expiresAt - safetyMarginMs` (the LeaseStore contract's margin for
// clock skew): when renewals fail (store unreachable) it stops being leader on its own
// before anyone else can take over. A planned handover releases the lease at once and
// stops campaigning, so a peer takes over within one round instead of one TTL.
//
// Leadership prefers nodes that carry no egress: when `yieldLeadership` says so (this node
// carries egress and a healthy peer that carries none is heard), the holder releases the
// lease and nobody in that position acquires it. So a dead NAT is rarely also the dead
// leader whose lease must expire before anyone can fail it over. No two nodes can wait
// on each other: only a node that carries egress yields, and only to one that does not
// and that says (in its heartbeats) it can lead: campaigning, its controller on, and its
// last round reached the store — a peer cut off from the store is never yielded to.
import type { Clock } from '../domain/clock.js';
import type { LeaseState, LeaseStore } from '../domain/ports/lease-store.js';
import type { NodeId } from '../domain/signals.js';
import { globalTimers, type Timers } from '../probe/scheduler.js';
import type { Logger } from '../telemetry/logger.js';

export interface LeaseView {
  holder: string;
  token: number;
  expiresAt: number;
  heldBySelf: boolean;
}

export interface LeadershipOptions {
  store: LeaseStore;
  self: NodeId;
  ttlMs: number;
  renewEveryMs: number;
  clock: Clock;
  logger: Logger;
  /** Called with true/false whenever leadership is gained or lost. */
  onChange?: (leader: boolean, lease: LeaseView | null) => void;
  /** True while a better candidate runs (see above): release the lease, and do not acquire it. */
  yieldLeadership?: () => boolean;
  timers?: Timers;
}

export interface Leadership {
  start(): void;
  /** The lease as last seen (null before the first round or when free). */
  lease(): LeaseView | null;
  /** Holding a lease that is valid with the safety margin, at `now`. */
  isLeader(): boolean;
  /** The fencing token while leader. */
  token(): number | undefined;
  /** Campaigning, and the last round reached the store: this node could take the lease now. */
  canLead(): boolean;
  /** Planned handover: release the lease if held and stop campaigning. */
  stepDown(reason: string): Promise<void>;
  stop(): Promise<void>;
}

/** Skew allowance: the lease is trusted until expiresAt minus this (≥ 2 × the clock skew bound). */
export function safetyMarginMs(ttlMs: number): number {
  return Math.min(1_000, Math.max(100, Math.floor(ttlMs / 10)));
}

export function createLeadership(opts: LeadershipOptions): Leadership {
  const timers = opts.timers ?? globalTimers;
  const margin = safetyMarginMs(opts.ttlMs);
  let held: LeaseState | undefined;
  let seen: LeaseState | null = null;
  let campaigning = false;
  let timer: unknown;
  let round: Promise<void> = Promise.resolve();
  let wasLeader = false;
  let storeOk = false;

  const view = (): LeaseView | null => (seen ? { holder: seen.holder, token: seen.token, expiresAt: seen.expiresAt, heldBySelf: seen.holder === opts.self && held !== undefined } : null);
  const isLeader = () => held !== undefined && opts.clock.now() < held.expiresAt - margin;
  const notify = () => {
    const now = isLeader();
    if (now === wasLeader) return;
    wasLeader = now;
    opts.logger[now ? 'info' : 'warn'](now ? 'leader_elected' : 'leader_lost', { token: held?.token ?? seen?.token });
    opts.onChange?.(now, view());
  };

  async function once() {
    try {
      const yielding = opts.yieldLeadership?.() ?? false;
      if (held && yielding) {
        const h = held;
        held = undefined;
        notify();
        const released = await opts.store.release(opts.self, h.token);
        opts.logger.info('lease_yielded', { token: h.token, released, reason: 'this node carries egress; a healthy peer that carries none can lead' });
        if (released) seen = null;
      } else if (yielding) {
        // Leave the lease to the better candidate; keep the view of who holds it current.
        seen = await opts.store.current();
      } else if (held) {
        const r = await opts.store.renew(opts.self, held.token);
        if (r.held) held = seen = r;
        else {
          opts.logger.warn('lease_lost', { reason: r.reason, holder: r.current?.holder });
          held = undefined;
          seen = r.current;
        }
      } else {
        const r = await opts.store.acquire(opts.self, opts.ttlMs);
        seen = r;
        if (r.held) held = r;
      }
      storeOk = true;
    } catch (e) {
      // Unreachable store: keep the last view; the margin check below ends a stale leadership.
      storeOk = false;
      opts.logger.warn('lease_store_error', { error: e as Error });
    }
    if (held && !isLeader()) held = undefined;
    notify();
  }

  const schedule = () => {
    if (!campaigning) return;
    timer = timers.setTimeout(() => {
      round = once().finally(schedule);
    }, opts.renewEveryMs);
  };

  return {
    start() {
      if (campaigning) return;
      campaigning = true;
      round = once().finally(schedule);
    },
    lease: view,
    isLeader,
    canLead: () => campaigning && storeOk,
    token: () => (isLeader() ? held?.token : undefined),
    async stepDown(reason) {
      campaigning = false;
      if (timer !== undefined) timers.clearTimeout(timer);
      await round;
      const h = held;
      held = undefined;
      if (h) {
        const released = await opts.store.release(opts.self, h.token).catch((e: unknown) => {
          opts.logger.warn('lease_release_failed', { error: e as Error });
          return false;
        });
        opts.logger.info('lease_released', { reason, token: h.token, released });
        if (released) seen = null;
      }
      notify();
    },
    async stop() {
      campaigning = false;
      if (timer !== undefined) timers.clearTimeout(timer);
      await round;
    },
  };
}
