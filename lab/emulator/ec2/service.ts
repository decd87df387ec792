// The emulated EC2 Query API (Version 2016-11-15): every action the lab
// serves, one file per resource kind.

import { ApiError } from '../errors.js';
import { readBoolean } from '../query/params.js';
import type { ActionDefinition, ServiceDefinition } from '../query/types.js';
import { addressActions } from './addresses.js';
import { instanceStateActions } from './instance-state.js';
import { instanceActions } from './instances.js';
import { networkInterfaceActions } from './network-interfaces.js';
import { routeTableActions } from './route-tables.js';
import { routeActions } from './routes.js';
import { subnetActions } from './subnets.js';
import { tagActions } from './tags.js';
import { vpcActions } from './vpcs.js';

/**
 * DryRun=true answers DryRunOperation (HTTP 412) instead of acting, as EC2 does
 * for a caller allowed to make the call: the lab has no IAM to deny it.
 */
function withDryRun(definition: ActionDefinition): ActionDefinition {
  return {
    mutating: definition.mutating,
    handler: (params, ctx) => {
      if (readBoolean(params, 'DryRun')) throw new ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      return definition.handler(params, ctx);
    },
  };
}

const actions: Record<string, ActionDefinition> = {
  ...vpcActions,
  ...subnetActions,
  ...routeTableActions,
  ...routeActions,
  ...instanceActions,
  ...instanceStateActions,
  ...networkInterfaceActions,
  ...addressActions,
  ...tagActions,
};

export const ec2Service: ServiceDefinition = {
  name: 'ec2',
  version: '2016-11-15',
  xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  listItem: 'item',
  wrapResult: false,
  actions: Object.fromEntries(Object.entries(actions).map(([name, def]) => [name, withDryRun(def)])),
};
