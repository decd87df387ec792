// Injected server errors (chaos `api-errors RATE`): a fraction of calls fail
// with the service's internal-error code before the handler runs, so an
// injected failure never changes state.

import type { ApiError } from '../errors.js';
import { internalError } from '../query/response.js';
import type { ServiceDefinition } from '../query/types.js';
import { assertFraction } from './validate.js';

export class ErrorInjector {
  constructor(
    private rate: number,
    private readonly random: () => number,
  ) {
    assertFraction(rate, 'error rate');
  }

  setRate(rate: number): void {
    assertFraction(rate, 'error rate');
    this.rate = rate;
  }

  get currentRate(): number {
    return this.rate;
  }

  /** The error to answer this call with, or undefined to let it through. */
  draw(service: ServiceDefinition['name']): ApiError | undefined {
    if (this.rate <= 0 || this.random() >= this.rate) return undefined;
    return internalError(service, 'An internal error has occurred. (Injected by the lab.)');
  }
}
