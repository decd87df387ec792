// The demo's waits: errors count as "not yet" (agents start listening a moment after they
// spawn; a DynamoDB read may fail once), polled every 250 ms.
import { until as untilBounded } from './wait.js';

export { sleep } from './wait.js';

export const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 250): Promise<T> =>
  untilBounded(what, fn, timeoutMs, { everyMs, retryErrors: true });
