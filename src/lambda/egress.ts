// Reading an observed VPC for the Lambda's metrics and lifecycle decisions (pure).
import { indexVpc, tableVia, tablesOf, type ObservedVpc } from '../domain/planner/index.js';
import type { NodeId } from '../domain/signals.js';

/**
 * The managed zones without working egress: a private table whose default route is
 * missing, a blackhole to nothing, or goes through a NAT that is not running (the
 * ZonesWithoutEgress metric). A NAT Gateway counts as egress.
 */
export function zonesWithoutEgress(vpc: ObservedVpc): string[] {
  const idx = indexVpc(vpc);
  return vpc.zones
    .filter((z) =>
      tablesOf(vpc, z.name).some((t) => {
        const via = tableVia(idx, t);
        return via.kind === 'none' || (via.kind === 'node' && idx.node(via.node)?.state !== 'running');
      }),
    )
    .map((z) => z.name);
}

/**
 * Why `node` still carries egress, or undefined when it carries none: no zone's floating
 * ENI is attached to it and no managed route targets it (its instance id, or any ENI
 * attached to it — its primary ENI or a floating ENI it holds).
 */
export function egressCarriedBy(vpc: ObservedVpc, node: NodeId): string | undefined {
  const eni = vpc.zones.find((z) => z.floatingEni?.attachedTo === node)?.floatingEni;
  if (eni) return `the floating ENI ${eni.eniId} is attached to it`;
  const idx = indexVpc(vpc);
  const table = vpc.routeTables.find((t) => {
    const via = idx.via(t.target);
    return via.kind === 'node' && via.node === node;
  });
  return table ? `route table ${table.id} sends its default route through it` : undefined;
}
