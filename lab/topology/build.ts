// Turns a validated topology into emulator state, and returns the manifest: the
// resource IDs by role, so the CLI, tests and the data plane can find things.

import { ConfigError } from '../../src/config/errors.js';
import type { Clock } from '../emulator/clock.js';
import { IdGenerator } from '../emulator/ids.js';
import type { AutoScalingGroup, Tag } from '../emulator/model.js';
import { LabStore } from '../emulator/store.js';
import { cidrContains, cidrsOverlap, hostsOf } from './cidr.js';
import type { Topology } from './schema.js';

export interface ZoneManifest {
  name: string;
  availabilityZone: string;
  publicSubnetId: string;
  publicRouteTableId: string;
  privateSubnetIds: string[];
  /** Associated private tables first, then the extra (unassociated) ones. */
  privateRouteTableIds: string[];
  natInstanceIds: string[];
  appInstanceIds: string[];
  floatingEniId?: string;
  floatingAllocationId?: string;
  autoScalingGroupName: string;
}

export interface LabManifest {
  region: string;
  vpcId: string;
  internetGatewayId: string;
  zones: ZoneManifest[];
}

export const tag = (key: string, value: string): Tag => ({ key, value });

/** Hands out EIPs from the topology's pool in order. */
export class EipPool {
  private readonly free: string[];
  constructor(cidr: string, exclude: string[]) {
    this.free = hostsOf(cidr).filter((ip) => !exclude.includes(ip));
  }
  take(): string {
    const ip = this.free.shift();
    if (!ip) throw new Error('the lab EIP pool is exhausted');
    return ip;
  }
  give(ip: string): void {
    if (!this.free.includes(ip)) this.free.push(ip);
  }
}

/** Checks what zod cannot: addresses that must fit inside or stay apart from each other. */
export function checkTopology(t: Topology): void {
  const problems: string[] = [];
  const subnets: { path: string; cidr: string }[] = [];
  t.zones.forEach((z, i) => {
    subnets.push({ path: `zones[${i}].publicSubnet`, cidr: z.publicSubnet });
    z.privateSubnets.forEach((c, j) => subnets.push({ path: `zones[${i}].privateSubnets[${j}]`, cidr: c }));
    if (t.zones.findIndex((o) => o.name === z.name) !== i) problems.push(`zones[${i}].name: zone "${z.name}" is listed twice`);
  });
  for (const s of subnets) {
    if (!cidrContains(t.vpcCidr, s.cidr)) problems.push(`${s.path}: ${s.cidr} is not inside vpcCidr ${t.vpcCidr}`);
    const bits = Number(s.cidr.split('/')[1]);
    if (bits > 28 || bits < 16) problems.push(`${s.path}: subnets must be between /16 and /28 (AWS's limits), got /${bits}`);
  }
  subnets.forEach((a, i) =>
    subnets.slice(i + 1).forEach((b) => {
      if (cidrsOverlap(a.cidr, b.cidr)) problems.push(`${b.path}: ${b.cidr} overlaps ${a.path} ${a.cidr}`);
    }),
  );
  t.internet.echoTargets.forEach((ip, i) => {
    if (cidrContains(t.internet.eipPool, `${ip}/32`)) problems.push(`internet.echoTargets[${i}]: ${ip} is inside internet.eipPool`);
    if (cidrContains(t.vpcCidr, `${ip}/32`)) problems.push(`internet.echoTargets[${i}]: ${ip} is inside vpcCidr`);
  });
  if (cidrsOverlap(t.internet.eipPool, t.vpcCidr)) problems.push(`internet.eipPool: overlaps vpcCidr ${t.vpcCidr}`);
  // One EIP per NAT and per floating ENI at start (replacement NATs take more later).
  const needed = t.zones.reduce((n, z) => n + z.natInstances + (z.floatingEni ? 1 : 0), 0);
  const available = hostsOf(t.internet.eipPool).filter((ip) => !t.internet.echoTargets.includes(ip)).length;
  if (available < needed) problems.push(`internet.eipPool: ${t.internet.eipPool} has ${available} usable addresses, the topology needs at least ${needed}`);
  if (problems.length) throw new ConfigError(`topology is not valid:\n  ${problems.join('\n  ')}`, problems);
}

export function buildLab(t: Topology, clock: Clock): { store: LabStore; manifest: LabManifest; eips: EipPool } {
  checkTopology(t);
  const r = t.realism;
  const store = new LabStore({
    clock,
    ids: new IdGenerator(t.seed),
    region: t.region,
    timings: {
      eniAttachMs: r.eniAttachMs,
      eniDetachMs: r.eniDetachMs,
      instanceStartMs: r.instanceStartMs,
      instanceStopMs: r.instanceStopMs,
      instanceTerminateMs: r.instanceTerminateMs,
    },
  });
  const eips = new EipPool(t.internet.eipPool, t.internet.echoTargets);
  const vpc = store.addVpc(t.vpcCidr, [tag('Name', 'natkeeper-lab')]);
  const internetGatewayId = store.ids.id('igw');
  // The VPC's main table: unassociated subnets fall back to it. It has the local route only.
  store.addRouteTable(vpc.vpcId, [tag('Name', 'main')], true);

  const zones = t.zones.map((z): ZoneManifest => {
    const az = `${t.region}${z.name}`;
    const pub = store.addSubnet(vpc.vpcId, z.publicSubnet, az, true, [tag('Name', `public-${z.name}`)]);
    const pubRt = store.addRouteTable(vpc.vpcId, [tag('Name', `public-${z.name}`)]);
    store.createRoute(pubRt.routeTableId, '0.0.0.0/0', { gatewayId: internetGatewayId });
    store.associateRouteTable(pubRt.routeTableId, pub.subnetId);

    const asgName = `natkeeper-${z.name}`;
    const natInstanceIds: string[] = [];
    for (let n = 0; n < z.natInstances; n++) {
      const inst = store.launchInstance({
        subnetId: pub.subnetId,
        role: 'nat',
        immediate: true,
        autoScalingGroupName: asgName,
        // The launch template's user data turns the check off for NATs.
        sourceDestCheck: false,
        tags: [tag('Name', `nat-${z.name}${n + 1}`), tag('natkeeper:role', 'nat'), tag('natkeeper:zone', z.name), tag('aws:autoscaling:groupName', asgName)],
      });
      natInstanceIds.push(inst.instanceId);
      const primary = store.primaryInterface(inst.instanceId)!;
      const eip = store.allocateAddress(eips.take(), [tag('Name', `nat-${z.name}${n + 1}`)]);
      store.associateAddress(eip.allocationId, primary.networkInterfaceId, false);
    }

    let floatingEniId: string | undefined;
    let floatingAllocationId: string | undefined;
    if (z.floatingEni) {
      const eni = store.createNetworkInterface(pub.subnetId, `natkeeper floating ENI ${z.name}`, [
        tag('Name', `floating-${z.name}`),
        tag('natkeeper:floating', z.name),
      ]);
      floatingEniId = eni.networkInterfaceId;
      store.setSourceDestCheck(floatingEniId, false);
      const eip = store.allocateAddress(eips.take(), [tag('Name', `floating-${z.name}`)]);
      floatingAllocationId = eip.allocationId;
      store.associateAddress(eip.allocationId, floatingEniId, false);
      const carrier = natInstanceIds[0];
      if (carrier) {
        store.attachNetworkInterface(floatingEniId, carrier, 1);
        store.forceAttachedNow(floatingEniId);
      }
    }

    const privateSubnetIds: string[] = [];
    const privateRouteTableIds: string[] = [];
    const appInstanceIds: string[] = [];
    const egressTarget = floatingEniId
      ? { networkInterfaceId: floatingEniId }
      : natInstanceIds[0]
        ? { instanceId: natInstanceIds[0] }
        : undefined;
    z.privateSubnets.forEach((cidr, j) => {
      const sub = store.addSubnet(vpc.vpcId, cidr, az, false, [tag('Name', `private-${z.name}${j + 1}`)]);
      privateSubnetIds.push(sub.subnetId);
      const rt = store.addRouteTable(vpc.vpcId, [tag('Name', `private-${z.name}${j + 1}`), tag('natkeeper:zone', z.name)]);
      if (egressTarget) store.createRoute(rt.routeTableId, '0.0.0.0/0', egressTarget);
      store.associateRouteTable(rt.routeTableId, sub.subnetId);
      privateRouteTableIds.push(rt.routeTableId);
      for (let h = 0; h < z.appHostsPerPrivateSubnet; h++) {
        const app = store.launchInstance({
          subnetId: sub.subnetId,
          role: 'app',
          immediate: true,
          tags: [tag('Name', `app-${z.name}${j + 1}-${h + 1}`), tag('natkeeper:role', 'app')],
        });
        appInstanceIds.push(app.instanceId);
      }
    });
    for (let k = 0; k < z.extraPrivateRouteTables; k++) {
      const rt = store.addRouteTable(vpc.vpcId, [tag('Name', `extra-${z.name}${k + 1}`), tag('natkeeper:zone', z.name)]);
      if (egressTarget) store.createRoute(rt.routeTableId, '0.0.0.0/0', egressTarget);
      privateRouteTableIds.push(rt.routeTableId);
    }

    const group: AutoScalingGroup = {
      autoScalingGroupName: asgName,
      autoScalingGroupARN: `arn:aws:autoscaling:${t.region}:${store.accountId}:autoScalingGroup:${store.ids.uuid()}:autoScalingGroupName/${asgName}`,
      minSize: z.natInstances,
      maxSize: z.natInstances + 1,
      desiredCapacity: z.natInstances,
      availabilityZones: [az],
      vpcZoneIdentifier: pub.subnetId,
      healthCheckType: 'EC2',
      healthCheckGracePeriod: t.autoScaling.healthCheckGracePeriodSeconds,
      replacementDelayMs: t.autoScaling.replacementDelayMs,
      instanceType: 't4g.nano',
      role: 'nat',
      instances: natInstanceIds.map((instanceId) => ({
        instanceId,
        availabilityZone: az,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        instanceType: 't4g.nano',
        protectedFromScaleIn: false,
      })),
      createdTime: new Date(clock.now()).toISOString(),
      tags: [tag('natkeeper:zone', z.name)],
    };
    store.autoScalingGroups.set(asgName, group);
    store.lifecycleHooks.set(asgName, []);

    return {
      name: z.name,
      availabilityZone: az,
      publicSubnetId: pub.subnetId,
      publicRouteTableId: pubRt.routeTableId,
      privateSubnetIds,
      privateRouteTableIds,
      natInstanceIds,
      appInstanceIds,
      ...(floatingEniId ? { floatingEniId } : {}),
      ...(floatingAllocationId ? { floatingAllocationId } : {}),
      autoScalingGroupName: asgName,
    };
  });

  // Only changes after start-up are seen late: the initial resources existed long before.
  store.consistencyDelayMs = r.consistencyDelayMs;
  return { store, manifest: { region: t.region, vpcId: vpc.vpcId, internetGatewayId, zones }, eips };
}
