// The lease for one invocation: acquired once (no campaigning: a live agent holding it
// means the agents are in charge; another invocation of this Lambda is waited for), renewed every renewEveryMs
// while the cycle runs (an ENI move and its verification can outlast a 6 s lease), and
// released at the end. Its fence is the one the agents' executor uses: held, and valid
// until expiresAt minus the same safety margin (src/agent/leadership.ts).
import { safetyMarginMs } from '../agent/leadership.js';
import type { Fence } from '../controller/executor.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { Logger } from '../telemetry/logger.js';

export type LeaseSession =
  /** `sibling`: the holder is another invocation of this Lambda, still busy after the wait. */
  | { held: false; holder: string; sibling: boolean }
  | {
      held: true;
      token: number;
      /** True when this acquire issued a new token (the lease changed hands to us). */
      newToken: boolean;
      fence: Fence;
      /** Stops renewing and releases the lease (never throws). */
      release(): Promise<void>;
    };

export interface LeaseSessionOptions {
  store: LeaseStore;
  holder: string;
  ttlMs: number;
  renewEveryMs: number;
  clock: Clock;
  logger: Logger;
  /**
   * Holders starting with this prefix are other invocations of this Lambda: wait for them
   * (they release at the end of their cycle) instead of skipping. Two events often come
   * together — a stop's state change and its terminate lifecycle action, two Spot
   * warnings — and the second carries what the first cycle did not know (its notice, its
   * lifecycle token). An agent holding the lease is never waited for.
   */
  siblingPrefix?: string;
  /** How long to wait for a sibling invocation. Default SIBLING_WAIT_MS. */
  siblingWaitMs?: number;
  /** Default SIBLING_POLL_MS; tests shorten it. */
  siblingPollMs?: number;
}

/** Longer than a cycle with an ENI move normally takes, well inside the function's 60 s timeout. */
export const SIBLING_WAIT_MS = 20_000;
export const SIBLING_POLL_MS = 250;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function acquireLeaseSession(o: LeaseSessionOptions): Promise<LeaseSession> {
  const before = await o.store.currentToken();
  const isSibling = (holder: string) => o.siblingPrefix !== undefined && holder.startsWith(o.siblingPrefix);
  let r = await o.store.acquire(o.holder, o.ttlMs);
  // Polls counted, not timed: the injected clock may be a test's manual one.
  const polls = Math.ceil((o.siblingWaitMs ?? SIBLING_WAIT_MS) / (o.siblingPollMs ?? SIBLING_POLL_MS));
  if (!r.held && isSibling(r.holder)) o.logger.info('lease_wait_sibling', { holder: r.holder });
  for (let i = 0; i < polls && !r.held && isSibling(r.holder); i++) {
    await sleep(o.siblingPollMs ?? SIBLING_POLL_MS);
    r = await o.store.acquire(o.holder, o.ttlMs);
  }
  if (!r.held) return { held: false, holder: r.holder, sibling: isSibling(r.holder) };
  const margin = safetyMarginMs(o.ttlMs);
  let expiresAt = r.expiresAt;
  let lost = false;
  const fence: Fence = {
    isLeader: () => !lost && o.clock.now() < expiresAt - margin,
    token: () => (fence.isLeader() ? r.token : undefined),
  };
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      if (lost) return;
      try {
        const n = await o.store.renew(o.holder, r.token);
        if (n.held) expiresAt = n.expiresAt;
        else {
          lost = true;
          o.logger.warn('lease_lost', { reason: n.reason, holder: n.current?.holder, token: r.token });
        }
      } catch (e) {
        // The margin check ends the fence on its own if renewals keep failing.
        o.logger.warn('lease_store_error', { error: e as Error });
      }
    });
  }, o.renewEveryMs);
  return {
    held: true,
    token: r.token,
    newToken: r.token > before,
    fence,
    async release() {
      clearInterval(timer);
      await renewing;
      lost = true;
      const released = await o.store.release(o.holder, r.token).catch((e: unknown) => {
        o.logger.warn('lease_release_failed', { error: e as Error, token: r.token });
        return false;
      });
      o.logger.debug('lease_released', { token: r.token, released });
    },
  };
}
