// DescribeVpcs.

import type { Vpc } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import type { ActionDefinition } from '../query/types.js';
import { describeResources } from './describe.js';
import { ID_KINDS } from './ids.js';
import { tagSet } from './views.js';

const FILTERS: FilterFields<Vpc> = {
  'vpc-id': (v) => v.vpcId,
  'cidr-block': (v) => v.cidrBlock,
  cidr: (v) => v.cidrBlock,
  'cidr-block-association.cidr-block': (v) => v.cidrBlock,
  state: () => 'available',
  'is-default': () => false,
};

export const vpcActions: Record<string, ActionDefinition> = {
  DescribeVpcs: {
    mutating: false,
    handler: (params, { store }) => {
      const page = describeResources(store.vpcs.visible(), params, {
        action: 'DescribeVpcs',
        ids: { param: 'VpcId', kind: ID_KINDS.vpc },
        idOf: (v) => v.vpcId,
        filters: { ...FILTERS, 'owner-id': () => store.accountId },
        tagsOf: (v) => v.tags,
        page: { min: 5, max: 1000 },
      });
      return {
        vpcSet: page.items.map((v) => ({
          vpcId: v.vpcId,
          ownerId: store.accountId,
          state: 'available',
          cidrBlock: v.cidrBlock,
          cidrBlockAssociationSet: [{ cidrBlock: v.cidrBlock, cidrBlockState: { state: 'associated' } }],
          dhcpOptionsId: 'default',
          instanceTenancy: 'default',
          isDefault: false,
          tagSet: tagSet(v.tags),
        })),
        nextToken: page.nextToken,
      };
    },
  },
};
