// DescribeAddresses, AssociateAddress, DisassociateAddress (VPC Elastic IPs).

import { ApiError, invalidParameter, missingParameter } from '../errors.js';
import type { Address } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import { oneOf, readBoolean, readList, shown } from '../query/params.js';
import type { ActionDefinition, QueryParams } from '../query/types.js';
import type { LabStore } from '../store.js';
import { describeResources } from './describe.js';
import { checkId, ID_KINDS, requireId } from './ids.js';
import { instanceBehind } from './network-index.js';
import { soleInterfaceOf } from './network-interfaces.js';
import { RETURN_TRUE, tagSet } from './views.js';

/** The instance an EIP reaches through its ENI, if any. */
const instanceOf = (store: LabStore, addr: Address) => (addr.networkInterfaceId ? instanceBehind(store, addr.networkInterfaceId) : undefined);

function addressView(store: LabStore, a: Address) {
  return {
    publicIp: a.publicIp,
    allocationId: a.allocationId,
    domain: 'vpc',
    instanceId: instanceOf(store, a),
    associationId: a.associationId,
    networkInterfaceId: a.networkInterfaceId,
    networkInterfaceOwnerId: a.networkInterfaceId && store.accountId,
    privateIpAddress: a.privateIpAddress,
    tagSet: tagSet(a.tags),
    publicIpv4Pool: 'amazon',
    networkBorderGroup: store.region,
  };
}

function addressFilters(store: LabStore): FilterFields<Address> {
  return {
    'allocation-id': (a) => a.allocationId,
    'association-id': (a) => a.associationId,
    domain: () => 'vpc',
    'instance-id': (a) => instanceOf(store, a),
    'network-interface-id': (a) => a.networkInterfaceId,
    'network-interface-owner-id': (a) => a.networkInterfaceId && store.accountId,
    'private-ip-address': (a) => a.privateIpAddress,
    'public-ip': (a) => a.publicIp,
    'network-border-group': () => store.region,
  };
}

/** PublicIp.N narrows the addresses; each listed IP must exist. */
function selectByPublicIp(addresses: readonly Address[], params: QueryParams): readonly Address[] {
  const ips = readList(params, 'PublicIp');
  if (ips.length === 0) return addresses;
  const missing = ips.find((ip) => !addresses.some((a) => a.publicIp === ip));
  if (missing !== undefined) throw new ApiError('InvalidAddress.NotFound', `Address '${shown(missing)}' not found.`);
  return addresses.filter((a) => ips.includes(a.publicIp));
}

/** The ENI an AssociateAddress call targets: given directly, or an instance's only ENI. */
function targetEni(params: QueryParams, store: LabStore): string {
  const given = oneOf(params, ['InstanceId', 'NetworkInterfaceId']);
  if (given === undefined) throw missingParameter('InstanceId or NetworkInterfaceId');
  if (given === 'NetworkInterfaceId') return store.networkInterface(requireId(params, 'NetworkInterfaceId', ID_KINDS.networkInterface)).networkInterfaceId;
  return soleInterfaceOf(store, requireId(params, 'InstanceId', ID_KINDS.instance)).networkInterfaceId;
}

export const addressActions: Record<string, ActionDefinition> = {
  DescribeAddresses: {
    mutating: false,
    handler: (params, { store }) => {
      const page = describeResources(selectByPublicIp(store.addresses.visible(), params), params, {
        action: 'DescribeAddresses',
        ids: { param: 'AllocationId', kind: ID_KINDS.allocation },
        idOf: (a) => a.allocationId,
        filters: addressFilters(store),
        tagsOf: (a) => a.tags,
      });
      return { addressesSet: page.items.map((a) => addressView(store, a)) };
    },
  },

  AssociateAddress: {
    mutating: true,
    handler: (params, { store }) => {
      const allocationId =
        params.AllocationId !== undefined
          ? checkId(ID_KINDS.allocation, params.AllocationId)
          : params.PublicIp !== undefined
            ? store.addressByPublicIp(params.PublicIp).allocationId
            : undefined;
      if (allocationId === undefined) throw missingParameter('AllocationId');
      store.address(allocationId);
      const eniId = targetEni(params, store);
      const privateIp = params.PrivateIpAddress;
      // Lab ENIs have a single private IP.
      if (privateIp !== undefined && privateIp !== store.networkInterface(eniId).privateIpAddress)
        throw invalidParameter(`The private IP address ${shown(privateIp)} is not assigned to network interface ${eniId}.`);
      // "Reassociation is automatic, but you can specify false to ensure the operation
      // fails if the Elastic IP address is already associated with another resource."
      const allowReassociation = readBoolean(params, 'AllowReassociation') ?? true;
      return { associationId: store.associateAddress(allocationId, eniId, allowReassociation) };
    },
  },

  DisassociateAddress: {
    mutating: true,
    handler: (params, { store }) => {
      const given = oneOf(params, ['AssociationId', 'PublicIp']);
      if (given === undefined) throw missingParameter('AssociationId');
      if (given === 'AssociationId') store.disassociateAddress(params.AssociationId!);
      else {
        const addr = store.addressByPublicIp(params.PublicIp!);
        // Already disassociated: nothing to do, as with EC2's idempotent disassociation.
        if (addr.associationId) store.disassociateAddress(addr.associationId);
      }
      return RETURN_TRUE;
    },
  },
};
