// How the lab invokes the natkeeper Lambda in-process, with the parts of Lambda's
// asynchronous invocation that matter to the controller (docs/lab.md, "The Lambda in
// the lab"):
// - every event is its own invocation; different events may run at once (the lease
//   serializes their cycles), and each record says how many others were running;
// - an invocation that throws may be retried, at most `maxAttempts` invocations per
//   event ID in all (Lambda's default: the first and 2 retries); after that the event
//   is discarded, as Lambda does without a dead-letter destination; a retry keeps the
//   first attempt's request id, as Lambda's does;
// - the same event ID arriving while its invocation still runs (the lab's bus timed out
//   and delivered again) joins that invocation instead of starting a second one, and an
//   event ID that already succeeded is not invoked again.
// Not emulated: cold starts, Lambda's own retry delays (1 and 2 minutes), reserved and
// account concurrency limits, the 15-minute timeout.
import { randomUUID } from 'node:crypto';

/** The Lambda's core as the lab calls it: createLambdaCore(deps) from src/lambda/core.ts. */
export type LambdaInvoke<Outcome> = (event: unknown, requestId?: string) => Promise<Outcome>;

export type InvocationTrigger = 'webhook' | 'schedule';

/** One invocation of the handler. */
export interface InvocationRecord<Outcome = unknown> {
  /** Lambda's request id (context.awsRequestId): the same for every attempt of one event ID. */
  requestId: string;
  /** The event's `id`, when it has a string one. */
  eventId: string | undefined;
  /** The event's `detail-type`, when it has a string one. */
  detailType: string | undefined;
  trigger: InvocationTrigger;
  /** 1 for an event's first invocation, 2 and up for its retries. */
  attempt: number;
  /** How many other invocations were running when this one started. */
  concurrent: number;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms; absent while it runs. */
  endedAt?: number;
  /** What the handler returned. */
  outcome?: Outcome;
  /** What the handler threw. */
  error?: string;
}

/** What became of one request to invoke. */
export type InvokeResult<Outcome> =
  | { kind: 'invoked'; record: InvocationRecord<Outcome> }
  /** The handler threw; the record has the error. */
  | { kind: 'failed'; record: InvocationRecord<Outcome> }
  /** This event ID already succeeded: nothing was invoked. */
  | { kind: 'duplicate'; record: InvocationRecord<Outcome> }
  /** This event ID failed maxAttempts times: nothing was invoked. */
  | { kind: 'discarded'; eventId: string; attempts: number };

export interface LambdaInvokerOptions<Outcome> {
  invoke: LambdaInvoke<Outcome>;
  /** Invocations per event ID, retries included (default 3: Lambda's first try and 2 retries). */
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 3;
/** How many records records() keeps, and event IDs it remembers (oldest dropped first). */
const KEEP = 1000;

const stringField = (event: unknown, key: string): string | undefined => {
  if (typeof event !== 'object' || event === null) return undefined;
  const v = (event as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
};

export class LambdaInvoker<Outcome = unknown> {
  private readonly invokeFn: LambdaInvoke<Outcome>;
  private readonly maxAttempts: number;
  private readonly log: InvocationRecord<Outcome>[] = [];
  private readonly running = new Set<Promise<unknown>>();
  /** Per event ID: its request id, the invocation running now, the successful one, and how many were made. */
  private readonly byEvent = new Map<string, { requestId: string; inFlight?: Promise<InvokeResult<Outcome>>; succeeded?: InvocationRecord<Outcome>; attempts: number }>();

  constructor(opts: LambdaInvokerOptions<Outcome>) {
    this.invokeFn = opts.invoke;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  }

  /** Invokes the handler for `event` unless its ID is running (joined), done, or out of attempts. Never throws. */
  invoke(event: unknown, trigger: InvocationTrigger): Promise<InvokeResult<Outcome>> {
    const eventId = stringField(event, 'id');
    if (eventId === undefined) return this.run(event, trigger, undefined, 1, randomUUID());
    let seen = this.byEvent.get(eventId);
    if (!seen) {
      seen = { requestId: randomUUID(), attempts: 0 };
      this.byEvent.set(eventId, seen);
      // Bounded: the oldest event IDs are forgotten first (a Map iterates in insertion order).
      for (const old of this.byEvent.keys()) {
        if (this.byEvent.size <= KEEP) break;
        if (!this.byEvent.get(old)?.inFlight) this.byEvent.delete(old);
      }
    }
    if (seen.inFlight) return seen.inFlight;
    if (seen.succeeded) return Promise.resolve({ kind: 'duplicate', record: { ...seen.succeeded } });
    if (seen.attempts >= this.maxAttempts) return Promise.resolve({ kind: 'discarded', eventId, attempts: seen.attempts });
    seen.attempts += 1;
    const entry = seen;
    const p = this.run(event, trigger, eventId, seen.attempts, seen.requestId).then((r) => {
      delete entry.inFlight;
      if (r.kind === 'invoked') entry.succeeded = r.record;
      return r;
    });
    seen.inFlight = p;
    return p;
  }

  /** Every invocation so far (running ones without endedAt), oldest first. */
  records(): InvocationRecord<Outcome>[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Resolves once no invocation runs (waits at most timeoutMs; false if some still ran then). */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  private async run(event: unknown, trigger: InvocationTrigger, eventId: string | undefined, attempt: number, requestId: string): Promise<InvokeResult<Outcome>> {
    const record: InvocationRecord<Outcome> = {
      requestId,
      eventId,
      detailType: stringField(event, 'detail-type'),
      trigger,
      attempt,
      concurrent: this.running.size,
      startedAt: Date.now(),
    };
    this.log.push(record);
    if (this.log.length > KEEP) this.log.splice(0, this.log.length - KEEP);
    const p = (async (): Promise<InvokeResult<Outcome>> => {
      let kind: 'invoked' | 'failed' = 'invoked';
      try {
        record.outcome = await this.invokeFn(event, record.requestId);
      } catch (err) {
        kind = 'failed';
        record.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      record.endedAt = Date.now();
      return { kind, record: { ...record } };
    })();
    this.running.add(p);
    try {
      return await p;
    } finally {
      this.running.delete(p);
    }
  }
}
