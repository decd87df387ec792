// Which service and action a Query request is for. The SDKs and the CLI send
// Action and Version as parameters; the Version picks the service (EC2
// 2016-11-15, Auto Scaling 2011-01-01), since both may share one endpoint.

import { ApiError, missingParameter } from '../errors.js';
import { shown } from './params.js';
import type { ActionDefinition, QueryParams, ServiceDefinition } from './types.js';

export interface ResolvedCall {
  service: ServiceDefinition;
  action: string;
  definition: ActionDefinition;
}

export function resolveCall(services: readonly ServiceDefinition[], params: QueryParams): ResolvedCall {
  const action = params.Action;
  if (action === undefined || action === '') throw new ApiError('MissingAction', 'The request must contain the parameter Action');
  const version = params.Version;
  if (version === undefined || version === '') throw missingParameter('Version');
  const service = services.find((s) => s.version === version);
  if (!service) throw new ApiError('NoSuchVersion', `The requested version (${shown(version)}) of this service does not exist`);
  // hasOwn: "constructor" or "__proto__" are not actions.
  const definition = Object.hasOwn(service.actions, action) ? service.actions[action] : undefined;
  if (!definition) throw new ApiError('InvalidAction', `The action ${shown(action)} is not valid for this web service.`);
  return { service, action, definition };
}

/**
 * The service whose error dialect answers a request that may not resolve: by
 * Version if known, else by the path ("/autoscaling"), else the first service (EC2).
 */
export function serviceForErrors(services: readonly ServiceDefinition[], params: QueryParams, path: string): ServiceDefinition | undefined {
  return (
    services.find((s) => s.version === params.Version) ??
    services.find((s) => path === `/${s.name}` || path.startsWith(`/${s.name}/`)) ??
    services[0]
  );
}
