// CreateRoute, ReplaceRoute, DeleteRoute. The store enforces EC2's rules
// (exactly one target, no changes to the local route, RouteAlreadyExists…).

import { ApiError, invalidParameter } from '../errors.js';
import type { RouteTarget } from '../model.js';
import { requireString, shown } from '../query/params.js';
import type { ActionDefinition, QueryParams } from '../query/types.js';
import { ID_KINDS, optionalId, requireId } from './ids.js';
import { RETURN_TRUE } from './views.js';

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;

// Targets and destinations EC2 has but the lab does not model.
const UNSUPPORTED = [
  'DestinationIpv6CidrBlock',
  'DestinationPrefixListId',
  'EgressOnlyInternetGatewayId',
  'TransitGatewayId',
  'LocalGatewayId',
  'CarrierGatewayId',
  'VpcPeeringConnectionId',
  'VpcEndpointId',
  'CoreNetworkArn',
];

function readDestination(params: QueryParams): string {
  for (const name of UNSUPPORTED)
    if (params[name] !== undefined) throw new ApiError('UnsupportedOperation', `The lab does not support the parameter ${name}.`);
  const cidr = requireString(params, 'DestinationCidrBlock');
  if (!IPV4_CIDR.test(cidr))
    throw invalidParameter(`Value (${shown(cidr)}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`);
  return cidr;
}

/** The target parameters as given; the store checks that exactly one is set and that it exists. */
function readTarget(params: QueryParams): RouteTarget {
  return {
    gatewayId: params.GatewayId,
    instanceId: optionalId(params, 'InstanceId', ID_KINDS.instance),
    networkInterfaceId: optionalId(params, 'NetworkInterfaceId', ID_KINDS.networkInterface),
    natGatewayId: params.NatGatewayId,
  };
}

export const routeActions: Record<string, ActionDefinition> = {
  CreateRoute: {
    mutating: true,
    handler: (params, { store }) => {
      const routeTableId = requireId(params, 'RouteTableId', ID_KINDS.routeTable);
      store.createRoute(routeTableId, readDestination(params), readTarget(params));
      return RETURN_TRUE;
    },
  },

  ReplaceRoute: {
    mutating: true,
    handler: (params, { store }) => {
      const routeTableId = requireId(params, 'RouteTableId', ID_KINDS.routeTable);
      store.replaceRoute(routeTableId, readDestination(params), readTarget(params));
      return RETURN_TRUE;
    },
  },

  DeleteRoute: {
    mutating: true,
    handler: (params, { store }) => {
      const routeTableId = requireId(params, 'RouteTableId', ID_KINDS.routeTable);
      store.deleteRoute(routeTableId, readDestination(params));
      return RETURN_TRUE;
    },
  },
};
