// The lease for one invocation: acquired once (no campaigning: a live holder other than
// us means an agent, or another invocation, is in charge), renewed every renewEveryMs
// while the cycle runs (an ENI move and its verification can outlast a 6 s lease), and
// released at the end. Its fence is the one the agents' executor uses: held, and valid
// until expiresAt minus the same safety margin (src/agent/leadership.ts).
import { safetyMarginMs } from '../agent/leadership.js';
import type { Fence } from '../controller/executor.js';
import type { Clock } from '../domain/clock.js';
import type { LeaseStore } from '../domain/ports/lease-store.js';
import type { Logger } from '../telemetry/logger.js';

export type LeaseSession =
  | { held: false; holder: string }
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
}

export async function acquireLeaseSession(o: LeaseSessionOptions): Promise<LeaseSession> {
  const before = await o.store.currentToken();
  const r = await o.store.acquire(o.holder, o.ttlMs);
  if (!r.held) return { held: false, holder: r.holder };
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
