// Peer discovery: the other NAT instances of this VPC, found by their tag through
// DescribeInstances (pending and running only: a stopped NAT sends no heartbeats and
// forwards nothing). One paginated call per refresh; a failed refresh keeps the last
// list (the caller logs it) rather than dropping every peer at once.
import { DescribeInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import type { NodeId } from '../domain/signals.js';
import type { StaticPeer } from './peers.js';

export interface DiscoveryOptions {
  self: NodeId;
  vpcId: string;
  /** KEY=VALUE, as in the config's peers.tag. */
  tag: string;
  heartbeatPort: number;
}

export function discoveryFilters(vpcId: string, tag: string): Filter[] {
  const eq = tag.indexOf('=');
  return [
    { Name: 'vpc-id', Values: [vpcId] },
    { Name: `tag:${tag.slice(0, eq)}`, Values: [tag.slice(eq + 1)] },
    { Name: 'instance-state-name', Values: ['pending', 'running'] },
  ];
}

/** The peers now, sorted by id so the same group always yields the same list (and the same peer-route slots). */
export async function discoverPeers(ec2: Pick<EC2Client, 'send'>, opts: DiscoveryOptions): Promise<StaticPeer[]> {
  const peers: StaticPeer[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: discoveryFilters(opts.vpcId, opts.tag), MaxResults: 100, ...(NextToken ? { NextToken } : {}) }));
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? []) {
        if (!i.InstanceId || i.InstanceId === opts.self || !i.PrivateIpAddress) continue;
        peers.push({ id: i.InstanceId, address: i.PrivateIpAddress, heartbeatPort: opts.heartbeatPort });
      }
    NextToken = page.NextToken;
  } while (NextToken);
  return peers.sort((a, b) => a.id.localeCompare(b.id));
}
