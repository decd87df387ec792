// Retrying AWS calls: throttling (RequestLimitExceeded and friends), 5xx and dropped
// connections are retried with exponential backoff and full jitter (randomized); every
// other error surfaces at once. natkeeper's retries come on top of the SDK's own.
import pRetry from 'p-retry';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { isRetryableAwsError, type LifecycleRetryOptions } from './lifecycle.js';

export type AwsRetryOptions = LifecycleRetryOptions;

export function withAwsRetry<T>(fn: () => Promise<T>, opts: { retry?: AwsRetryOptions; log?: Logger; onRetry?: (error: unknown) => void } = {}): Promise<T> {
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
      (opts.log ?? silentLogger).warn('ec2.api-retry', { attempt: attemptNumber, retriesLeft, error });
    },
  });
}
