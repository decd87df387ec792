// Counting API throttling for the ApiThrottles metric. The SDK retries throttled
// attempts itself (and natkeeper's withAwsRetry on top), so a throttled call usually
// succeeds in the end and its errors never reach the caller: the count is taken per
// attempt, by a middleware on each command between the SDK's retry step and its
// deserializer (where the error is parsed and named); what counts as throttling is
// src/aws/retry.ts's isThrottlingError, the same test the retries use.
import { addAttemptMiddleware, type AttemptMiddleware } from '../aws/middleware.js';
import { isThrottlingError } from '../aws/retry.js';

export interface ThrottleCounter {
  count(): number;
  /** The count so far, and zero again. */
  take(): number;
  /** `client` with every command it sends counted: per attempt through the command's middleware, else per failed call. */
  wrap<C extends { send: (...args: never[]) => Promise<unknown> }>(client: C): Pick<C, 'send'>;
  /** Counts every attempt of every command of an SDK client (client-level middleware; once per client). */
  instrument(client: { middlewareStack: unknown }): void;
}

const MIDDLEWARE_NAME = 'natkeeperThrottleCount';

export function createThrottleCounter(): ThrottleCounter {
  let n = 0;
  const counted = new WeakSet<object>();
  /** Errors already counted by the middleware, so the wrapper does not count them again. */
  const seen = new WeakSet<object>();
  const countOnce = (e: unknown) => {
    if (!isThrottlingError(e) || seen.has(e as object)) return;
    seen.add(e as object);
    n++;
  };
  const countingMiddleware: AttemptMiddleware = (next) => async (args) => {
    try {
      return await next(args);
    } catch (e) {
      countOnce(e);
      throw e;
    }
  };
  const addTo = (stack: { add: unknown }) => addAttemptMiddleware(stack, countingMiddleware, { priority: 'high', name: MIDDLEWARE_NAME });
  const hasStack = (x: unknown): x is { middlewareStack: { add: unknown } } => typeof x === 'object' && x !== null && typeof (x as { middlewareStack?: { add?: unknown } }).middlewareStack?.add === 'function';
  return {
    count: () => n,
    take() {
      const v = n;
      n = 0;
      return v;
    },
    wrap(client) {
      const send = async (...args: unknown[]) => {
        const command = args[0];
        const perAttempt = hasStack(command) && !counted.has(command);
        if (perAttempt) {
          counted.add(command);
          addTo(command.middlewareStack);
        }
        try {
          return await (client.send as (...a: unknown[]) => Promise<unknown>).apply(client, args);
        } catch (e) {
          // A client that does not run the command's middleware (a test double) still counts once.
          countOnce(e);
          throw e;
        }
      };
      return { send };
    },
    instrument(client) {
      if (counted.has(client) || !hasStack(client)) return;
      counted.add(client);
      addTo(client.middlewareStack);
    },
  };
}
