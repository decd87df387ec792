// The bench's bounded waits: lab/wait.ts's until() with the argument order the bench reads best.
import { until } from '../../../lab/wait.js';

export { sleep } from '../../../lab/wait.js';

/** Polls `fn` every `pollMs` until it returns a value; throws naming `what` after `timeoutMs`. */
export const waitFor = <T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, pollMs = 50): Promise<T> => until(what, fn, timeoutMs, { everyMs: pollMs });
