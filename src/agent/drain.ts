// Planned handover, the node's side: after announcing it (heartbeats) and giving up the
// lease, the node keeps running until it carries no egress — no route table of the VPC
// targets one of its ENIs, and no floating ENI is attached to it — or until the bound
// (systemd's TimeoutStopSec must be longer). Two Describe calls per poll.
import { DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../telemetry/logger.js';

export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;

export interface DrainOptions {
  ec2: Pick<EC2Client, 'send'>;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  timeoutMs?: number;
  pollMs?: number;
}

/** What still routes through this node: route table ids, and secondary (floating) ENIs attached. */
export async function egressCarried(ec2: Pick<EC2Client, 'send'>, instanceId: string): Promise<{ routeTables: string[]; floatingEnis: string[] }> {
  const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }))).NetworkInterfaces ?? [];
  const ids = enis.flatMap((e) => (e.NetworkInterfaceId ? [e.NetworkInterfaceId] : []));
  const floatingEnis = enis.filter((e) => (e.Attachment?.DeviceIndex ?? 0) > 0 && e.NetworkInterfaceId).map((e) => e.NetworkInterfaceId!);
  if (!ids.length) return { routeTables: [], floatingEnis };
  const tables = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.network-interface-id', Values: ids }] }))).RouteTables ?? [];
  // Routes to a floating ENI are carried by whoever holds it: only they count while it is attached here.
  return { routeTables: tables.flatMap((t) => (t.RouteTableId ? [t.RouteTableId] : [])), floatingEnis };
}

/** Resolves true once nothing routes through this node, false at the bound. Never throws. */
export async function waitUntilDrained(opts: DrainOptions): Promise<boolean> {
  const deadline = opts.clock.now() + (opts.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
  for (;;) {
    try {
      const c = await egressCarried(opts.ec2, opts.instanceId);
      if (!c.routeTables.length && !c.floatingEnis.length) {
        opts.logger.info('handover_drained', {});
        return true;
      }
      if (opts.clock.now() >= deadline) {
        opts.logger.warn('handover_drain_timeout', { ...c });
        return false;
      }
    } catch (e) {
      opts.logger.warn('handover_drain_check_failed', { error: e as Error });
      if (opts.clock.now() >= deadline) return false;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
