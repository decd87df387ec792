// The baselines act the way the published tools do: EC2 API calls with the AWS SDK, here
// from the host to the lab's EC2 endpoint (so they land in the lab API's request log).
import { EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import type { BenchLab } from './bench-lab.js';

export function labEc2Client(bl: BenchLab): EC2Client {
  return new EC2Client({ endpoint: bl.lab.endpoints.ec2, region: bl.topology.region, credentials: { accessKeyId: 'failover-bench', secretAccessKey: 'lab' } });
}

/** ReplaceRoute 0.0.0.0/0 of every private table of zone a to `instance`'s primary ENI, one call per table. */
export async function replaceZoneRoutes(client: EC2Client, bl: BenchLab, instance: string): Promise<void> {
  const eni = bl.lab.store.primaryInterface(instance);
  if (!eni) throw new Error(`${instance} has no primary ENI`);
  for (const table of bl.zone.privateRouteTableIds)
    await client.send(new ReplaceRouteCommand({ RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: eni.networkInterfaceId }));
}
