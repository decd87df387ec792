// Where each zone's egress goes now, read from the lab's EC2 state (no API call): the
// zone's private route table's default route, resolved to the NAT instance behind it,
// and which public address belongs to what. Names (nat-a1) instead of IDs where the
// lab has them, for the demo's output.
import type { RunningLab } from './lab.js';
import type { ZoneManifest } from './topology/build.js';

export const nameOf = (lab: RunningLab, instanceId: string): string => lab.store.instances.get(instanceId)?.tags.find((t) => t.key === 'Name')?.value ?? instanceId;

/** Instance IDs in free text (a decision's reason, a verdict's) replaced by their Names. */
export const namesIn = (lab: RunningLab, text: string): string => text.replace(/\bi-[0-9a-f]{8,17}\b/g, (id) => nameOf(lab, id));

export interface ZoneEgress {
  zone: string;
  /** The NAT instance the default route leads to now (undefined: blackhole, nothing attached). */
  natId: string | undefined;
  /** The route's target: the zone's floating ENI, another zone's floating ENI, a NAT's own ENI. */
  via: string;
  /** The NAT is in another zone. */
  crossZone: boolean;
}

/** The floating ENI's zone, when the ENI is one. */
function floatingZone(lab: RunningLab, eniId: string): string | undefined {
  return lab.store.networkInterfaces.get(eniId)?.tags.find((t) => t.key === 'natkeeper:floating')?.value;
}

export function zoneEgress(lab: RunningLab, zone: ZoneManifest): ZoneEgress {
  const route = lab.store.routeTables.get(zone.privateRouteTableIds[0]!)?.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0');
  const eniId = route?.networkInterfaceId;
  const eni = eniId ? lab.store.networkInterfaces.get(eniId) : undefined;
  const natId = eni?.attachment?.status === 'attached' ? eni.attachment.instanceId : route?.instanceId;
  const fz = eniId ? floatingZone(lab, eniId) : undefined;
  const via = fz ? `eni-${fz}` : eniId ? 'own ENI' : (route?.natGatewayId ?? 'none');
  const natZone = natId ? lab.store.instances.get(natId)?.availabilityZone : undefined;
  return { zone: zone.name, natId, via, crossZone: natZone !== undefined && natZone !== zone.availabilityZone };
}

/** "a→nat-a2", "b→nat-c1 (cross-zone)", "c→none". */
export function describeZoneEgress(lab: RunningLab, e: ZoneEgress): string {
  return `${e.zone}→${e.natId ? nameOf(lab, e.natId) : 'none'}${e.crossZone ? ' (cross-zone)' : ''}`;
}

/** What a public address the internet saw is: "eni-a@nat-a2" for a floating ENI, "nat-b1" for a NAT's own EIP. */
export function ownerOfPublicIp(lab: RunningLab, publicIp: string): string {
  const addr = lab.store.addresses.values().find((a) => a.publicIp === publicIp);
  const eni = addr?.networkInterfaceId ? lab.store.networkInterfaces.get(addr.networkInterfaceId) : undefined;
  if (!eni) return '?';
  const on = eni.attachment ? nameOf(lab, eni.attachment.instanceId) : 'detached';
  const fz = floatingZone(lab, eni.networkInterfaceId);
  return fz ? `eni-${fz}@${on}` : on;
}
