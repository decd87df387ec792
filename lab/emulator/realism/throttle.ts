// EC2 request throttling as AWS documents it ("Request throttling for the
// Amazon EC2 API", ec2/latest/devguide/ec2-api-throttling.html):
//
// - Each API action has its own token bucket ("throttled … on a per-API basis";
//   "Limits are applied to individual API actions, not API action categories").
// - Its size and refill come from the action's category: mutating 50 / 5 per s,
//   non-mutating 100 / 20 per s, and for a few Describe actions called without
//   filters, IDs or pagination ("unfiltered and unpaginated") a separate smaller
//   bucket, 50 / 10 per s. The category figures come from the topology.
// - Some actions are "uncategorized" with their own figures (table below).
// - Running out answers RequestLimitExceeded with HTTP 503.
//
// Not modelled: the resource buckets of Run/Start/Stop/TerminateInstances
// (1,000 instances burst), which a lab with a handful of instances never reaches.
//
// Auto Scaling has one shared bucket for all its actions and publishes no
// figures: it is unthrottled unless a bucket is set (setAutoScalingBucket).

import type { Clock } from '../clock.js';
import { ApiError } from '../errors.js';
import type { QueryParams, ServiceDefinition } from '../query/types.js';
import { TokenBucket, type BucketSpec } from './token-bucket.js';
import { assertBucket } from './validate.js';

export type Ec2Category = 'mutating' | 'nonMutating' | 'unfilteredDescribe';

export interface ThrottleSettings {
  enabled: boolean;
  mutating: BucketSpec;
  nonMutating: BucketSpec;
  unfilteredDescribe: BucketSpec;
}

/** Uncategorized actions among those the lab serves, with AWS's own figures for them. */
export const EC2_UNCATEGORIZED_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  CreateTags: { burst: 100, refillPerSecond: 10 },
  DeleteTags: { burst: 100, refillPerSecond: 10 },
  ModifyNetworkInterfaceAttribute: { burst: 100, refillPerSecond: 5 },
  StartInstances: { burst: 5, refillPerSecond: 2 },
  TerminateInstances: { burst: 100, refillPerSecond: 5 },
};

/** The actions AWS lists as using the smaller bucket when called unfiltered and unpaginated. */
const UNFILTERED_BUCKET_ACTIONS = new Set(['DescribeInstances', 'DescribeInstanceStatus', 'DescribeNetworkInterfaces']);

/**
 * Filters ("Filter.1.Name") and ID lists ("InstanceId.1") are the only dotted
 * parameters of these Describe actions, so any dotted key means "filtered";
 * MaxResults or NextToken means "paginated".
 */
export function ec2Category(action: string, mutating: boolean, params: QueryParams): Ec2Category {
  if (mutating) return 'mutating';
  if (!UNFILTERED_BUCKET_ACTIONS.has(action)) return 'nonMutating';
  if (params.MaxResults !== undefined || params.NextToken !== undefined) return 'nonMutating';
  for (const key in params) if (key.includes('.')) return 'nonMutating';
  return 'unfilteredDescribe';
}

const ec2Throttled = () => new ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
const autoScalingThrottled = () => new ApiError('Throttling', 'Rate exceeded', 400);

export class RequestThrottle {
  private settings: ThrottleSettings;
  private autoScaling?: BucketSpec;
  /** Buckets by "Action" or "Action:unfiltered", created full on first use. */
  private readonly buckets = new Map<string, TokenBucket>();
  private autoScalingBucket?: TokenBucket;

  constructor(
    private readonly clock: Clock,
    settings: ThrottleSettings,
  ) {
    this.settings = structuredClone(settings);
  }

  /** Takes a token for this call, or throws the service's throttling error. */
  admit(service: ServiceDefinition['name'], action: string, mutating: boolean, params: QueryParams): void {
    if (!this.settings.enabled) return;
    if (service === 'autoscaling') {
      if (this.autoScaling && !(this.autoScalingBucket ??= new TokenBucket(this.clock, this.autoScaling)).tryTake())
        throw autoScalingThrottled();
      return;
    }
    const category = ec2Category(action, mutating, params);
    const key = category === 'unfilteredDescribe' ? `${action}:unfiltered` : action;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const own = category !== 'unfilteredDescribe' && Object.hasOwn(EC2_UNCATEGORIZED_BUCKETS, action);
      const spec = own ? EC2_UNCATEGORIZED_BUCKETS[action]! : this.settings[category];
      this.buckets.set(key, (bucket = new TokenBucket(this.clock, spec)));
    }
    if (!bucket.tryTake()) throw ec2Throttled();
  }

  /** Changes the settings at run time. Buckets restart full with the new figures. */
  configure(change: Partial<ThrottleSettings>): void {
    for (const category of ['mutating', 'nonMutating', 'unfilteredDescribe'] as const) {
      const spec = change[category];
      if (spec) assertBucket(spec, `throttling.${category}`);
    }
    this.settings = { ...this.settings, ...structuredClone(change) };
    this.buckets.clear();
  }

  /** A shared bucket for every Auto Scaling call, or undefined to leave Auto Scaling unthrottled. */
  setAutoScalingBucket(spec: BucketSpec | undefined): void {
    if (spec) assertBucket(spec, 'throttling.autoScaling');
    this.autoScaling = spec && { ...spec };
    this.autoScalingBucket = undefined;
  }

  current(): ThrottleSettings & { autoScaling?: BucketSpec } {
    return { ...structuredClone(this.settings), ...(this.autoScaling ? { autoScaling: { ...this.autoScaling } } : {}) };
  }
}
