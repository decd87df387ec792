// What makes the lab's API feel like AWS's: throttling, latency and injected
// errors, starting from the topology's `realism` section and changeable at run
// time (chaos verbs `api-errors RATE`, `api-latency ACTION MS`).

import type { Clock } from '../clock.js';
import type { ApiError } from '../errors.js';
import type { QueryParams, ServiceDefinition } from '../query/types.js';
import type { Topology } from '../../topology/schema.js';
import { ErrorInjector } from './faults.js';
import { LatencyPolicy, type LatencyDefaults } from './latency.js';
import { RequestThrottle, type ThrottleSettings } from './throttle.js';
import type { BucketSpec } from './token-bucket.js';

/** The parts of topology.realism the API server uses. */
export type RealismSettings = Pick<Topology['realism'], 'mutatingLatencyMs' | 'describeLatencyMs' | 'errorRate' | 'throttling'>;

export interface ApiCall {
  service: ServiceDefinition['name'];
  action: string;
  mutating: boolean;
  params: QueryParams;
}

/** How to answer an admitted call: wait `delayMs`, then fail with `error` if set, else run the action. */
export interface Admission {
  delayMs: number;
  error?: ApiError;
}

export interface RealismStatus {
  throttling: ThrottleSettings & { autoScaling?: BucketSpec };
  latency: LatencyDefaults & { perAction: Record<string, number> };
  errorRate: number;
}

export class RealismController {
  private readonly throttle: RequestThrottle;
  private readonly latency: LatencyPolicy;
  private readonly faults: ErrorInjector;

  constructor(settings: RealismSettings, opts: { clock: Clock; random?: () => number }) {
    this.throttle = new RequestThrottle(opts.clock, settings.throttling);
    this.latency = new LatencyPolicy({ mutatingMs: settings.mutatingLatencyMs, describeMs: settings.describeLatencyMs });
    this.faults = new ErrorInjector(settings.errorRate, opts.random ?? Math.random);
  }

  /**
   * Decides a call's fate on arrival. Throttling answers at once (throws, as
   * AWS rejects before doing any work); an injected error still takes the latency.
   */
  admit(call: ApiCall): Admission {
    this.throttle.admit(call.service, call.action, call.mutating, call.params);
    const delayMs = this.latency.latencyFor(call.action, call.mutating);
    const error = this.faults.draw(call.service);
    return error ? { delayMs, error } : { delayMs };
  }

  /** Fraction (0..1) of calls answered with an injected internal error. */
  setErrorRate(rate: number): void {
    this.faults.setRate(rate);
  }

  /** One action's latency in ms; undefined returns it to the mutating/describe default. */
  setActionLatency(action: string, ms: number | undefined): void {
    this.latency.setActionLatency(action, ms);
  }

  setLatency(change: Partial<LatencyDefaults>): void {
    this.latency.setDefaults(change);
  }

  /** Throttling on/off and bucket figures; buckets restart full. */
  setThrottling(change: Partial<ThrottleSettings>): void {
    this.throttle.configure(change);
  }

  setAutoScalingBucket(spec: BucketSpec | undefined): void {
    this.throttle.setAutoScalingBucket(spec);
  }

  status(): RealismStatus {
    return { throttling: this.throttle.current(), latency: this.latency.current(), errorRate: this.faults.currentRate };
  }
}
