// The natkeeper Lambda, run in-process against a running lab: an HTTP webhook on
// 127.0.0.1 that the lab's event bus delivers its EventBridge-shaped events to, each
// event one invocation of the Lambda's core (src/lambda/core.ts) with SDK clients
// pointed at the lab's EC2 / Auto Scaling API and the lease on the lab's DynamoDB;
// optionally an EventBridge schedule ("Scheduled Event" every N ms). How webhooks map to
// invocations and what is not emulated: docs/lab.md, "The Lambda in the lab", and
// lab/lambda-invoker.ts.
//
// The webhook answers once the invocation is over: 200 with its outcome, 500 when the
// handler threw (the bus then delivers again, like Lambda's async retry; at most
// maxAttempts invocations per event ID), 200 {discarded} once that budget is spent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AgentConfig, AgentConfigInput } from '../src/config/agent-config.js';
import { createLambdaCore, type LambdaDeps, type LambdaOutcome } from '../src/lambda/core.js';
import { lambdaDeps, loadLambdaEnv, type LambdaEnv } from '../src/lambda/handler.js';
import { createLogger } from '../src/telemetry/logger.js';
import { readBody, sendJson } from './http-json.js';
import { DETAIL_TYPES, isoSeconds, type DetailType } from './emulator/events/shapes.js';
import { LambdaInvoker, type InvocationRecord, type InvokeResult, type LambdaInvoke } from './lambda-invoker.js';
import type { LabEndpoints } from './run-dir.js';

/** The access key ID the runner's SDK clients sign with: the lab's request log shows the Lambda's calls under it. */
export const LAMBDA_RUNNER_ACCESS_KEY_ID = 'AKIDLABLAMBDA';
/** The path the runner's webhook listens on. */
const WEBHOOK_PATH = '/invoke';
/** EventBridge's largest event. */
const MAX_EVENT_BYTES = 256 * 1024;
const MIN_SCHEDULE_MS = 100;
/** How long close() waits for running invocations (each SDK call has its own timeouts). */
const CLOSE_WAIT_MS = 15_000;
/** How many log and EMF lines are kept. */
const KEEP_LINES = 10_000;

/** What of a running lab the runner needs (a RunningLab has it). */
export interface LabForLambda {
  endpoints: Pick<LabEndpoints, 'ec2' | 'autoscaling' | 'dynamodb' | 'events'>;
  manifest: { region: string; vpcId: string };
  store: { accountId: string };
}

export interface LambdaRunnerOptions {
  lab: LabForLambda;
  /**
   * The Lambda's NATKEEPER_CONFIG (the agent config schema). The lab fills in `region`,
   * `endpoints` (its EC2, Auto Scaling and DynamoDB) and, when absent, controller.vpcId.
   */
  config: AgentConfigInput;
  /** Send a "Scheduled Event" every this many ms (at least 100). Default: no schedule. */
  scheduleEveryMs?: number;
  /** Subscribe to these detail-types only. Default: every one the lab publishes. */
  detailTypes?: readonly DetailType[];
  /** Invocations per event ID, retries included. Default 3 (Lambda's first try and 2 retries). */
  maxAttempts?: number;
  /** Builds the handler from its dependencies. Default createLambdaCore (tests inject a fake). */
  createCore?: (deps: LambdaDeps) => LambdaInvoke<LambdaOutcome>;
}

export interface LambdaRunner {
  /** The webhook's URL (subscribed on the lab's bus). */
  url: string;
  subscriptionId: string;
  /** The lease holder name: lambda:natkeeper-lab (lambda:<function name>, as in AWS). */
  holder: string;
  config: AgentConfig;
  invocations(): InvocationRecord<LambdaOutcome>[];
  /** The handler's JSON log lines, oldest first. */
  logLines(): string[];
  /** The handler's EMF lines (what Lambda would send to CloudWatch), oldest first. */
  metricLines(): string[];
  /** Resolves true once no invocation runs (false after timeoutMs). */
  idle(timeoutMs?: number): Promise<boolean>;
  /** Unsubscribes, stops the schedule, waits for running invocations, stops the server. Safe to call twice. */
  close(): Promise<void>;
}

/** A bad runner option; `field` names it. */
export class LambdaRunnerOptionError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'LambdaRunnerOptionError';
  }
}

/** The event EventBridge sends for a schedule rule (source aws.events, empty detail). */
export function scheduledEvent(o: { region: string; account: string; ruleName: string; now: number }) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: o.account,
    time: isoSeconds(o.now),
    region: o.region,
    resources: [`arn:aws:events:${o.region}:${o.account}:rule/${o.ruleName}`],
    detail: {},
  };
}

/** The Lambda's function name in the lab: the holder is lambda:<it>, as in AWS. */
const LAB_FUNCTION_NAME = 'natkeeper-lab';

/**
 * The Lambda's environment as the handler reads it (loadLambdaEnv: the same checks), with
 * the lab's region, endpoints and, when absent, VPC filled into NATKEEPER_CONFIG.
 * Throws ConfigError naming each bad field.
 */
function labLambdaEnv(lab: LabForLambda, input: AgentConfigInput): LambdaEnv {
  const doc = {
    ...input,
    region: lab.manifest.region,
    endpoints: { ec2: lab.endpoints.ec2, autoscaling: lab.endpoints.autoscaling, dynamodb: lab.endpoints.dynamodb },
    controller: { vpcId: lab.manifest.vpcId, ...input.controller },
  };
  return loadLambdaEnv({ NATKEEPER_CONFIG: JSON.stringify(doc), AWS_LAMBDA_FUNCTION_NAME: LAB_FUNCTION_NAME });
}

function checkOptions(opts: LambdaRunnerOptions): void {
  const every = opts.scheduleEveryMs;
  if (every !== undefined && (!Number.isInteger(every) || every < MIN_SCHEDULE_MS))
    throw new LambdaRunnerOptionError('scheduleEveryMs', `expected a whole number of ms, at least ${MIN_SCHEDULE_MS}, got ${every}`);
  const max = opts.maxAttempts;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 10)) throw new LambdaRunnerOptionError('maxAttempts', `expected a whole number from 1 to 10, got ${max}`);
  opts.detailTypes?.forEach((d, i) => {
    if (!(DETAIL_TYPES as readonly string[]).includes(d)) throw new LambdaRunnerOptionError(`detailTypes[${i}]`, `unknown detail-type "${d}"; expected one of: ${DETAIL_TYPES.join(', ')}`);
  });
}

async function subscribe(eventsBase: string, url: string, detailTypes: readonly DetailType[]): Promise<string> {
  const res = await fetch(`${eventsBase}/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, detailTypes }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json().catch(() => ({}))) as { id?: string; error?: string };
  if (res.status !== 201 || typeof body.id !== 'string') throw new Error(`subscribing ${url} to the lab's events: HTTP ${res.status} ${body.error ?? ''}`.trim());
  return body.id;
}

async function unsubscribe(eventsBase: string, id: string): Promise<void> {
  const res = await fetch(`${eventsBase}/subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer().catch(() => undefined);
  // 404: the lab forgot it already (it closed, or someone else removed it).
  if (res.status !== 204 && res.status !== 404) throw new Error(`unsubscribing ${id}: HTTP ${res.status}`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (typeof addr === 'object' && addr) resolve(addr.port);
      else reject(new Error('the Lambda runner got no port'));
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function respond(res: ServerResponse, r: InvokeResult<LambdaOutcome>): void {
  switch (r.kind) {
    case 'invoked':
      return sendJson(res, 200, { requestId: r.record.requestId, outcome: r.record.outcome ?? null });
    case 'duplicate':
      return sendJson(res, 200, { requestId: r.record.requestId, duplicate: true, outcome: r.record.outcome ?? null });
    case 'failed':
      // 5xx: the lab's bus delivers again after its backoff, as Lambda retries an async invocation.
      return sendJson(res, 500, { requestId: r.record.requestId, error: r.record.error });
    case 'discarded':
      // Lambda drops an event whose retries are spent (no dead-letter destination here).
      return sendJson(res, 200, { discarded: true, eventId: r.eventId, attempts: r.attempts });
  }
}

/** Starts the webhook, subscribes it on the lab's event bus, and starts the schedule (when asked). Closes what it started on failure. */
export async function startLambdaRunner(opts: LambdaRunnerOptions): Promise<LambdaRunner> {
  checkOptions(opts);
  const env = labLambdaEnv(opts.lab, opts.config);
  const { config, holder } = env;
  const logs: string[] = [];
  const metrics: string[] = [];
  const keep = (into: string[]) => (line: string) => {
    into.push(line);
    if (into.length > KEEP_LINES) into.splice(0, into.length - KEEP_LINES);
  };
  const logger = createLogger({ write: keep(logs), level: config.log.level, base: { component: 'lambda' } });
  // Signed with the runner's own access key, so the lab's request log tells the Lambda's calls apart.
  const { deps, destroy } = lambdaDeps(env, { logger, emit: keep(metrics), credentials: { accessKeyId: LAMBDA_RUNNER_ACCESS_KEY_ID, secretAccessKey: 'lab-lambda' } });
  const invoker = new LambdaInvoker<LambdaOutcome>({ invoke: (opts.createCore ?? createLambdaCore)(deps), ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}) });

  let closing = false;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://runner.invalid').pathname;
    if (path !== WEBHOOK_PATH) return sendJson(res, 404, { error: `no such path ${path}; the webhook is POST ${WEBHOOK_PATH}` });
    if (req.method !== 'POST') return sendJson(res, 405, { error: `${req.method} is not allowed; the webhook is POST ${WEBHOOK_PATH}` });
    // 503 is retried by the bus; the subscription is gone by then anyway.
    if (closing) return sendJson(res, 503, { error: 'the Lambda runner is closing' });
    const body = await readBody(req, MAX_EVENT_BYTES);
    if (!body.ok) return sendJson(res, 413, { error: body.error });
    // Lambda is handed whatever JSON value the event is; a body that is not JSON is
    // handed over as the string it is, and the handler decides it is malformed.
    let event: unknown;
    try {
      event = JSON.parse(body.text) as unknown;
    } catch {
      event = body.text;
    }
    respond(res, await invoker.invoke(event, 'webhook'));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('lab.lambda.webhook-bug', { error: err as Error });
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });

  let subscriptionId: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      clearInterval(timer);
      try {
        if (subscriptionId) await unsubscribe(opts.lab.endpoints.events, subscriptionId);
      } catch (err) {
        logger.warn('lab.lambda.unsubscribe-failed', { subscriptionId, error: err as Error });
      }
      try {
        if (!(await invoker.idle(CLOSE_WAIT_MS))) logger.warn('lab.lambda.close-while-running', { waitedMs: CLOSE_WAIT_MS });
      } finally {
        if (server.listening) await closeServer(server);
        destroy();
      }
    })());

  try {
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}${WEBHOOK_PATH}`;
    subscriptionId = await subscribe(opts.lab.endpoints.events, url, opts.detailTypes ?? DETAIL_TYPES);
    if (opts.scheduleEveryMs !== undefined) {
      let scheduled: Promise<unknown> | undefined;
      timer = setInterval(() => {
        // A tick while the previous scheduled invocation still runs is skipped (Lambda
        // would run both; the lab keeps the schedule from piling up).
        if (scheduled || closing) return;
        const event = scheduledEvent({ region: config.region!, account: opts.lab.store.accountId, ruleName: 'natkeeper-lab-schedule', now: Date.now() });
        scheduled = invoker.invoke(event, 'schedule').finally(() => (scheduled = undefined));
      }, opts.scheduleEveryMs);
    }
    return {
      url,
      subscriptionId,
      holder,
      config,
      invocations: () => invoker.records(),
      logLines: () => [...logs],
      metricLines: () => [...metrics],
      idle: (timeoutMs) => invoker.idle(timeoutMs),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
