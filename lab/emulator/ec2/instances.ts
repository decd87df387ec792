// DescribeInstances, DescribeInstanceStatus, ModifyInstanceAttribute.
// State changes (start, stop, reboot, terminate) are in instance-state.ts.

import { INSTANCE_STATE_CODES, type Instance } from '../model.js';
import type { FilterFields } from '../query/filters.js';
import { readBoolean } from '../query/params.js';
import type { ActionDefinition } from '../query/types.js';
import { describeResources } from './describe.js';
import { ID_KINDS, requireId } from './ids.js';
import { NetworkIndex } from './network-index.js';
import { eniView, soleInterfaceOf } from './network-interfaces.js';
import { readSourceDestCheck } from './source-dest-check.js';
import { instanceState, RETURN_TRUE, tagSet } from './views.js';

function instanceView(inst: Instance, net: NetworkIndex, ownerId: string) {
  const primary = net.primaryEniOf(inst.instanceId);
  const publicIp = primary && net.addressOf(primary.networkInterfaceId)?.publicIp;
  return {
    instanceId: inst.instanceId,
    imageId: inst.imageId,
    instanceState: instanceState(inst.state),
    privateDnsName: '',
    dnsName: '',
    reason: inst.stateReason ?? '',
    amiLaunchIndex: 0,
    productCodes: [],
    instanceType: inst.instanceType,
    launchTime: inst.launchTime,
    placement: { availabilityZone: inst.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: inst.subnetId,
    vpcId: inst.vpcId,
    privateIpAddress: primary?.privateIpAddress,
    ipAddress: publicIp,
    // AWS shows the primary ENI's flag: ModifyNetworkInterfaceAttribute on it changes this too.
    sourceDestCheck: primary ? primary.sourceDestCheck : inst.sourceDestCheck,
    groupSet: [],
    stateReason: inst.stateReason ? { code: inst.stateReason, message: inst.stateReason } : undefined,
    architecture: inst.instanceType.startsWith('t4g') ? 'arm64' : 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: [],
    virtualizationType: 'hvm',
    instanceLifecycle: inst.lifecycle === 'spot' ? 'spot' : undefined,
    tagSet: tagSet(inst.tags),
    hypervisor: 'xen',
    networkInterfaceSet: net.enisOf(inst.instanceId).map((e) => eniView(e, net.addressOf(e.networkInterfaceId), ownerId)),
    ebsOptimized: false,
  };
}

function instanceFilters(net: NetworkIndex): FilterFields<Instance> {
  return {
    'instance-id': (i) => i.instanceId,
    'instance-state-name': (i) => i.state,
    'instance-state-code': (i) => INSTANCE_STATE_CODES[i.state],
    'instance-type': (i) => i.instanceType,
    'instance-lifecycle': (i) => (i.lifecycle === 'spot' ? 'spot' : undefined),
    'image-id': (i) => i.imageId,
    'availability-zone': (i) => i.availabilityZone,
    'vpc-id': (i) => i.vpcId,
    'subnet-id': (i) => i.subnetId,
    'private-ip-address': (i) => net.primaryEniOf(i.instanceId)?.privateIpAddress,
    'ip-address': (i) => net.enisOf(i.instanceId).map((e) => net.addressOf(e.networkInterfaceId)?.publicIp),
    'network-interface.network-interface-id': (i) => net.enisOf(i.instanceId).map((e) => e.networkInterfaceId),
    'network-interface.addresses.private-ip-address': (i) => net.enisOf(i.instanceId).map((e) => e.privateIpAddress),
  };
}

/** Instance and system status checks, from the lab's single statusCheck field. */
function statusChecks(inst: Instance) {
  if (inst.state !== 'running') {
    const na = { status: 'not-applicable', details: [] };
    return { systemStatus: na, instanceStatus: na };
  }
  const summary = (status: 'ok' | 'impaired' | 'initializing') => ({
    status,
    details: [{ name: 'reachability', status: status === 'ok' ? 'passed' : status === 'impaired' ? 'failed' : 'initializing' }],
  });
  // A lab "impaired" instance fails its instance check (a hung OS); AWS's hardware stays fine.
  return { systemStatus: summary(inst.statusCheck === 'initializing' ? 'initializing' : 'ok'), instanceStatus: summary(inst.statusCheck) };
}

const STATUS_FILTERS: FilterFields<Instance> = {
  'availability-zone': (i) => i.availabilityZone,
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => INSTANCE_STATE_CODES[i.state],
  'instance-status.status': (i) => statusChecks(i).instanceStatus.status,
  'instance-status.reachability': (i) => statusChecks(i).instanceStatus.details[0]?.status,
  'system-status.status': (i) => statusChecks(i).systemStatus.status,
  'system-status.reachability': (i) => statusChecks(i).systemStatus.details[0]?.status,
};

export const instanceActions: Record<string, ActionDefinition> = {
  DescribeInstances: {
    mutating: false,
    handler: (params, { store }) => {
      const net = new NetworkIndex(store);
      const page = describeResources(store.instances.visible(), params, {
        action: 'DescribeInstances',
        ids: { param: 'InstanceId', kind: ID_KINDS.instance, excludesMaxResults: true },
        idOf: (i) => i.instanceId,
        filters: instanceFilters(net),
        tagsOf: (i) => i.tags,
        page: { min: 5, max: 1000 },
      });
      return {
        // The lab launches instances one at a time: one reservation each, named after it.
        reservationSet: page.items.map((inst) => ({
          reservationId: `r-${inst.instanceId.slice(2)}`,
          ownerId: store.accountId,
          groupSet: [],
          instancesSet: [instanceView(inst, net, store.accountId)],
        })),
        nextToken: page.nextToken,
      };
    },
  },

  DescribeInstanceStatus: {
    mutating: false,
    handler: (params, { store }) => {
      const includeAll = readBoolean(params, 'IncludeAllInstances') ?? false;
      const page = describeResources(store.instances.visible(), params, {
        action: 'DescribeInstanceStatus',
        ids: { param: 'InstanceId', kind: ID_KINDS.instance, excludesMaxResults: true },
        idOf: (i) => i.instanceId,
        // Without IncludeAllInstances, EC2 shows running instances only (and no error for the others).
        where: includeAll ? undefined : (i) => i.state === 'running',
        filters: STATUS_FILTERS,
        page: { min: 5, max: 1000 },
      });
      return {
        instanceStatusSet: page.items.map((i) => ({
          instanceId: i.instanceId,
          availabilityZone: i.availabilityZone,
          instanceState: instanceState(i.state),
          ...statusChecks(i),
          eventsSet: [],
        })),
        nextToken: page.nextToken,
      };
    },
  },

  ModifyInstanceAttribute: {
    mutating: true,
    handler: (params, { store }) => {
      const instanceId = requireId(params, 'InstanceId', ID_KINDS.instance);
      const enabled = readSourceDestCheck(params);
      // The flag lives on each ENI: with several, EC2 wants ModifyNetworkInterfaceAttribute instead.
      soleInterfaceOf(store, instanceId);
      store.setSourceDestCheck(instanceId, enabled);
      return RETURN_TRUE;
    },
  },
};
