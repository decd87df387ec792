// DescribeRouteTables, AssociateRouteTable, ReplaceRouteTableAssociation.
// Route changes are in routes.ts.

import type { Route, RouteTable } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import { FragmentCache } from '../query/fragment-cache.js';
import { requireString } from '../query/params.js';
import type { ActionDefinition } from '../query/types.js';
import type { LabStore } from '../store.js';
import { describeResources } from './describe.js';
import { ID_KINDS, requireId } from './ids.js';
import { instanceBehind } from './network-index.js';
import { tagSet } from './views.js';

/**
 * A route's target as DescribeRouteTables shows it. Like AWS, a route to an
 * instance also names the instance's primary ENI, and a route to an ENI that
 * is attached also names the instance it is attached to.
 */
function routeTarget(route: Route, store: LabStore) {
  if (route.instanceId) {
    const eni = store.primaryInterface(route.instanceId);
    return { instanceId: route.instanceId, instanceOwnerId: store.accountId, networkInterfaceId: eni?.networkInterfaceId };
  }
  if (route.networkInterfaceId) {
    const instanceId = instanceBehind(store, route.networkInterfaceId);
    return { instanceId, instanceOwnerId: instanceId && store.accountId, networkInterfaceId: route.networkInterfaceId };
  }
  return { gatewayId: route.gatewayId, natGatewayId: route.natGatewayId };
}

/** What a route shows beyond its record: its target as resolved now, and active or blackhole. */
interface LiveRoute {
  route: Route;
  target: ReturnType<typeof routeTarget>;
  state: 'active' | 'blackhole';
}

function routeTableView(rt: RouteTable, routes: readonly LiveRoute[], ownerId: string) {
  return {
    routeTableId: rt.routeTableId,
    vpcId: rt.vpcId,
    ownerId,
    routeSet: routes.map(({ route, target, state }) => ({
      destinationCidrBlock: route.destinationCidrBlock,
      ...target,
      state,
      origin: route.origin,
    })),
    associationSet: rt.associations.map((a) => ({
      main: a.main,
      routeTableAssociationId: a.associationId,
      routeTableId: a.routeTableId,
      subnetId: a.subnetId,
      associationState: { state: 'associated' },
    })),
    propagatingVgwSet: [],
    tagSet: tagSet(rt.tags),
  };
}

// DescribeRouteTables is what a NAT controller polls every cycle, over many
// tables that rarely change: their XML is cached (see FragmentCache).
const tableXml = new FragmentCache<RouteTable>('item');

function routeTableXml(rt: RouteTable, store: LabStore) {
  const routes: LiveRoute[] = [];
  const live: unknown[] = [];
  for (const route of rt.routes) {
    const r: LiveRoute = { route, target: routeTarget(route, store), state: store.routeState(route) };
    routes.push(r);
    live.push(r.state, r.target.instanceId, r.target.networkInterfaceId);
  }
  return tableXml.get(rt, live, () => routeTableView(rt, routes, store.accountId));
}

/** Filters that read routes' live state need the store; the rest only the table. */
function routeTableFilters(store: LabStore): FilterFields<RouteTable> {
  return {
    'route-table-id': (t) => t.routeTableId,
    'vpc-id': (t) => t.vpcId,
    'owner-id': () => store.accountId,
    'association.subnet-id': (t) => t.associations.map((a) => a.subnetId),
    'association.route-table-id': (t) => t.associations.map((a) => a.routeTableId),
    'association.route-table-association-id': (t) => t.associations.map((a) => a.associationId),
    'association.main': (t) => t.associations.map((a) => a.main),
    'route.destination-cidr-block': (t) => t.routes.map((r) => r.destinationCidrBlock),
    'route.gateway-id': (t) => t.routes.map((r) => r.gatewayId),
    'route.nat-gateway-id': (t) => t.routes.map((r) => r.natGatewayId),
    'route.instance-id': (t) => t.routes.map((r) => routeTarget(r, store).instanceId),
    'route.network-interface-id': (t) => t.routes.map((r) => routeTarget(r, store).networkInterfaceId),
    'route.origin': (t) => t.routes.map((r) => r.origin),
    'route.state': (t) => t.routes.map((r) => store.routeState(r)),
  };
}

const associated = { associationState: { state: 'associated' } };

export const routeTableActions: Record<string, ActionDefinition> = {
  DescribeRouteTables: {
    mutating: false,
    handler: (params, { store }) => {
      const page = describeResources(store.routeTables.visible(), params, {
        action: 'DescribeRouteTables',
        ids: { param: 'RouteTableId', kind: ID_KINDS.routeTable },
        idOf: (t) => t.routeTableId,
        filters: routeTableFilters(store),
        tagsOf: (t) => t.tags,
        page: { min: 5, max: 100 },
      });
      return { routeTableSet: tableXml.list(page.items.map((t) => routeTableXml(t, store))), nextToken: page.nextToken };
    },
  },

  AssociateRouteTable: {
    mutating: true,
    handler: (params, { store }) => {
      const routeTableId = requireId(params, 'RouteTableId', ID_KINDS.routeTable);
      // The lab has no gateway route tables (edge associations): a subnet is required.
      const subnetId = requireId(params, 'SubnetId', ID_KINDS.subnet);
      return { associationId: store.associateRouteTable(routeTableId, subnetId), ...associated };
    },
  },

  ReplaceRouteTableAssociation: {
    mutating: true,
    handler: (params, { store }) => {
      const associationId = requireString(params, 'AssociationId');
      const routeTableId = requireId(params, 'RouteTableId', ID_KINDS.routeTable);
      return { newAssociationId: store.replaceRouteTableAssociation(associationId, routeTableId), ...associated };
    },
  },
};
