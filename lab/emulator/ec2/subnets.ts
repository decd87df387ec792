// DescribeSubnets.

import type { LabStore } from '../store.js';
import type { Subnet } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import type { ActionDefinition } from '../query/types.js';
import { describeResources } from './describe.js';
import { ID_KINDS } from './ids.js';
import { tagSet } from './views.js';

const FILTERS: FilterFields<Subnet> = {
  'subnet-id': (s) => s.subnetId,
  'vpc-id': (s) => s.vpcId,
  'availability-zone': (s) => s.availabilityZone,
  'cidr-block': (s) => s.cidrBlock,
  cidr: (s) => s.cidrBlock,
  state: () => 'available',
  'default-for-az': () => false,
  'map-public-ip-on-launch': () => false,
};

/** Free addresses as AWS counts them: the block minus its 5 reserved addresses minus the ENIs in it. */
function availableIpAddressCount(store: LabStore, subnet: Subnet): number {
  const size = 2 ** (32 - Number(subnet.cidrBlock.split('/')[1]));
  const used = store.networkInterfaces.values().filter((e) => e.subnetId === subnet.subnetId).length;
  return Math.max(0, size - 5 - used);
}

export const subnetActions: Record<string, ActionDefinition> = {
  DescribeSubnets: {
    mutating: false,
    handler: (params, { store }) => {
      const page = describeResources(store.subnets.visible(), params, {
        action: 'DescribeSubnets',
        ids: { param: 'SubnetId', kind: ID_KINDS.subnet },
        idOf: (s) => s.subnetId,
        filters: { ...FILTERS, 'owner-id': () => store.accountId },
        tagsOf: (s) => s.tags,
        page: { min: 5, max: 1000 },
      });
      return {
        subnetSet: page.items.map((s) => ({
          subnetId: s.subnetId,
          subnetArn: `arn:aws:ec2:${store.region}:${store.accountId}:subnet/${s.subnetId}`,
          state: 'available',
          ownerId: store.accountId,
          vpcId: s.vpcId,
          cidrBlock: s.cidrBlock,
          availableIpAddressCount: availableIpAddressCount(store, s),
          availabilityZone: s.availabilityZone,
          defaultForAz: false,
          // The lab assigns no public IPs at launch (see docs/lab.md), even in public subnets.
          mapPublicIpOnLaunch: false,
          tagSet: tagSet(s.tags),
        })),
        nextToken: page.nextToken,
      };
    },
  },
};
