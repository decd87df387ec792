// Retrying AWS calls: throttling (RequestLimitExceeded and friends), 5xx and dropped
// connections are retried with exponential backoff and full jitter (randomized); every
// other error surfaces at once. natkeeper's retries come on top of the SDK's own.
import pRetry from 'p-retry';
import { silentLogger, type Logger } from '../telemetry/logger.js';

export interface AwsRetryOptions {
  /** Retries per API call (default 6). */
  retries?: number;
  /** First backoff (default 200 ms), doubling up to maxTimeoutMs (default 5000 ms), randomized. */
  minTimeoutMs?: number;
  maxTimeoutMs?: number;
}

/**
 * The names SDK v3 gives throttling errors (after the service's code): EC2
 * RequestLimitExceeded, Auto Scaling Throttling, DynamoDB ThrottlingException /
 * ProvisionedThroughputExceededException, and the generic ones.
 */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
]);

/** A throttling error: by name, or marked so by the SDK (`$retryable.throttling`). */
export function isThrottlingError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $retryable?: { throttling?: unknown } };
  return (typeof e.name === 'string' && THROTTLING_ERROR_NAMES.has(e.name)) || e.$retryable?.throttling === true;
}

/** True for errors worth retrying: throttling, server faults, dropped connections. */
export function isRetryableAwsError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (isThrottlingError(err)) return true;
  const e = err as { name?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  if (e.$fault === 'server') return true;
  return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'TimeoutError'].includes(e.code ?? name);
}

export function withAwsRetry<T>(
  fn: () => Promise<T>,
  opts: { retry?: AwsRetryOptions; log?: Logger; onRetry?: (error: unknown) => void; event?: string; fields?: Record<string, string> } = {},
): Promise<T> {
  const r = opts.retry ?? {};
  return pRetry(fn, {
    retries: r.retries ?? 6,
    minTimeout: r.minTimeoutMs ?? 200,
    maxTimeout: r.maxTimeoutMs ?? 5000,
    randomize: true,
    shouldRetry: ({ error }) => isRetryableAwsError(error),
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (!isRetryableAwsError(error)) return;
      opts.onRetry?.(error);
      (opts.log ?? silentLogger).warn(opts.event ?? 'ec2.api-retry', { ...opts.fields, attempt: attemptNumber, retriesLeft, error });
    },
  });
}
