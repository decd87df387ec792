// Describe-after-mutate consistency delay: with topology.realism.consistencyDelayMs,
// Describe calls see a change only once the delay has passed, as EC2's
// eventually consistent Describe* can; mutations act on the current state at once.
import { DescribeRouteTablesCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../lab/emulator/clock.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';

const clock = new ManualClock();
let lab: ApiLab;

beforeAll(async () => {
  lab = await startApiLab({ clock, topology: { realism: { consistencyDelayMs: 2_000 } } });
});
afterAll(() => lab.close());

async function defaultTarget(rtb: string) {
  const out = await lab.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  return out.RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
}

it('a replaced route shows its old target until the consistency delay has passed', async () => {
  const zone = lab.manifest.zones[0]!;
  const rtb = zone.privateRouteTableIds[0]!;
  const standby = zone.natInstanceIds[1]!;
  expect((await defaultTarget(rtb))?.NetworkInterfaceId).toBe(zone.floatingEniId);

  await lab.ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', InstanceId: standby }));
  expect(lab.store.routeTable(rtb).routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0')?.instanceId).toBe(standby);
  expect((await defaultTarget(rtb))?.NetworkInterfaceId).toBe(zone.floatingEniId);
  clock.advance(1_999);
  expect((await defaultTarget(rtb))?.InstanceId).not.toBe(standby);
  clock.advance(1);
  expect((await defaultTarget(rtb))?.InstanceId).toBe(standby);
});
