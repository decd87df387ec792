// DescribeNetworkInterfaces, AttachNetworkInterface, DetachNetworkInterface,
// ModifyNetworkInterfaceAttribute. Attach and detach take effect after the
// topology's eniAttachMs / eniDetachMs: the store runs those transitions.

import { ApiError, missingParameter } from '../errors.js';
import type { Address, NetworkInterface } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import { readBoolean, readInt, requireString } from '../query/params.js';
import type { ActionDefinition } from '../query/types.js';
import type { LabStore } from '../store.js';
import { describeResources } from './describe.js';
import { checkId, ID_KINDS, requireId } from './ids.js';
import { NetworkIndex } from './network-index.js';
import { readSourceDestCheck } from './source-dest-check.js';
import { RETURN_TRUE, tagSet } from './views.js';

/** An ENI as DescribeNetworkInterfaces shows it; DescribeInstances lists the same view per instance. */
export function eniView(eni: NetworkInterface, eip: Address | undefined, ownerId: string) {
  const att = eni.attachment;
  const association = eip && {
    publicIp: eip.publicIp,
    publicDnsName: '',
    ipOwnerId: ownerId,
    allocationId: eip.allocationId,
    associationId: eip.associationId,
  };
  return {
    networkInterfaceId: eni.networkInterfaceId,
    subnetId: eni.subnetId,
    vpcId: eni.vpcId,
    availabilityZone: eni.availabilityZone,
    description: eni.description,
    ownerId,
    requesterManaged: false,
    status: eni.status,
    macAddress: eni.macAddress,
    privateIpAddress: eni.privateIpAddress,
    sourceDestCheck: eni.sourceDestCheck,
    groupSet: [],
    attachment: att && {
      attachmentId: att.attachmentId,
      instanceId: att.instanceId,
      instanceOwnerId: ownerId,
      deviceIndex: att.deviceIndex,
      networkCardIndex: 0,
      status: att.status,
      attachTime: att.attachTime,
      deleteOnTermination: att.deleteOnTermination,
    },
    association,
    tagSet: tagSet(eni.tags),
    privateIpAddressesSet: [{ privateIpAddress: eni.privateIpAddress, primary: true, association }],
    interfaceType: 'interface',
  };
}

function eniFilters(net: NetworkIndex, ownerId: string): FilterFields<NetworkInterface> {
  const eip = (e: NetworkInterface) => net.addressOf(e.networkInterfaceId);
  return {
    'network-interface-id': (e) => e.networkInterfaceId,
    'subnet-id': (e) => e.subnetId,
    'vpc-id': (e) => e.vpcId,
    'availability-zone': (e) => e.availabilityZone,
    status: (e) => e.status,
    description: (e) => e.description,
    'mac-address': (e) => e.macAddress,
    'private-ip-address': (e) => e.privateIpAddress,
    'addresses.private-ip-address': (e) => e.privateIpAddress,
    'source-dest-check': (e) => e.sourceDestCheck,
    'owner-id': () => ownerId,
    'attachment.attachment-id': (e) => e.attachment?.attachmentId,
    'attachment.instance-id': (e) => e.attachment?.instanceId,
    'attachment.instance-owner-id': (e) => e.attachment && ownerId,
    'attachment.device-index': (e) => e.attachment?.deviceIndex,
    'attachment.status': (e) => e.attachment?.status,
    'attachment.delete-on-termination': (e) => e.attachment?.deleteOnTermination,
    'association.public-ip': (e) => eip(e)?.publicIp,
    'association.allocation-id': (e) => eip(e)?.allocationId,
    'association.association-id': (e) => eip(e)?.associationId,
  };
}

/**
 * An instance's only ENI. EC2 refuses instance-level calls that would be
 * ambiguous with several (associating an EIP, the source/dest check).
 */
export function soleInterfaceOf(store: LabStore, instanceId: string): NetworkInterface {
  const instance = store.instance(instanceId);
  const enis = store.interfacesOf(instance.instanceId);
  if (enis.length > 1)
    throw new ApiError(
      'InvalidInstanceID',
      `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`,
    );
  if (!enis[0]) throw new ApiError('IncorrectInstanceState', `The instance '${instanceId}' has no network interface.`);
  return enis[0];
}

export const networkInterfaceActions: Record<string, ActionDefinition> = {
  DescribeNetworkInterfaces: {
    mutating: false,
    handler: (params, { store }) => {
      const net = new NetworkIndex(store);
      const page = describeResources(store.networkInterfaces.visible(), params, {
        action: 'DescribeNetworkInterfaces',
        ids: { param: 'NetworkInterfaceId', kind: ID_KINDS.networkInterface, excludesMaxResults: true },
        idOf: (e) => e.networkInterfaceId,
        filters: eniFilters(net, store.accountId),
        tagsOf: (e) => e.tags,
        page: { min: 5, max: 1000 },
      });
      return {
        networkInterfaceSet: page.items.map((e) => eniView(e, net.addressOf(e.networkInterfaceId), store.accountId)),
        nextToken: page.nextToken,
      };
    },
  },

  AttachNetworkInterface: {
    mutating: true,
    handler: (params, { store }) => {
      const eniId = requireId(params, 'NetworkInterfaceId', ID_KINDS.networkInterface);
      const instanceId = requireId(params, 'InstanceId', ID_KINDS.instance);
      const deviceIndex = readInt(params, 'DeviceIndex', { min: 0, max: 31 });
      if (deviceIndex === undefined) throw missingParameter('DeviceIndex');
      return { attachmentId: store.attachNetworkInterface(eniId, instanceId, deviceIndex), networkCardIndex: 0 };
    },
  },

  DetachNetworkInterface: {
    mutating: true,
    handler: (params, { store }) => {
      const attachmentId = checkId(ID_KINDS.attachment, requireString(params, 'AttachmentId'));
      store.detachNetworkInterface(attachmentId, readBoolean(params, 'Force') ?? false);
      return RETURN_TRUE;
    },
  },

  ModifyNetworkInterfaceAttribute: {
    mutating: true,
    handler: (params, { store }) => {
      const eniId = requireId(params, 'NetworkInterfaceId', ID_KINDS.networkInterface);
      store.setSourceDestCheck(eniId, readSourceDestCheck(params));
      return RETURN_TRUE;
    },
  },
};
