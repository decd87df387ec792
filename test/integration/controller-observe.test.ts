// observeVpc against the lab's EC2 API: three Describe calls, whatever the number of tables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeVpc } from '../../src/controller/observe.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';

describe('observe the VPC', () => {
  let lab: ApiLab;
  beforeAll(async () => {
    lab = await startApiLab({
      topology: {
        zones: [
          { name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 150, floatingEni: true },
          { name: 'b', publicSubnet: '10.0.1.0/24', privateSubnets: ['10.0.101.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: false },
        ],
      },
    });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('finds the NATs, the floating ENIs and every managed table, paginated, in three Describe calls per page kind', async () => {
    lab.api.requestLog.clear();
    const [a, b] = lab.manifest.zones as [(typeof lab.manifest.zones)[0], (typeof lab.manifest.zones)[0]];
    const v = await observeVpc(lab.ec2, { vpcId: lab.manifest.vpcId, zones: ['a', 'b'], fallbackNatGatewayIds: { b: 'nat-0123456789abcdef0' } });
    expect(v.nodes.map((n) => [n.id, n.zone, n.state]).sort()).toEqual([...a.natInstanceIds.map((id) => [id, 'a', 'running']), ...b.natInstanceIds.map((id) => [id, 'b', 'running'])].sort());
    for (const n of v.nodes) expect(n.primaryEniId).toBe(lab.store.primaryInterface(n.id)!.networkInterfaceId);
    expect(v.zones).toEqual([
      { name: 'a', floatingEni: { eniId: a.floatingEniId, deviceIndex: 1, attachedTo: a.natInstanceIds[0], attachmentId: expect.stringMatching(/^eni-attach-/) } },
      { name: 'b', fallbackNatGatewayId: 'nat-0123456789abcdef0' },
    ]);
    const tablesA = v.routeTables.filter((t) => t.zone === 'a');
    expect(tablesA).toHaveLength(151);
    expect(tablesA.every((t) => t.target.kind === 'eni' && t.target.id === a.floatingEniId && !t.blackhole)).toBe(true);
    const tableB = v.routeTables.find((t) => t.zone === 'b')!;
    expect(tableB.target).toEqual({ kind: 'eni', id: lab.store.primaryInterface(b.natInstanceIds[0]!)!.networkInterfaceId });
    expect(tableB.subnetAssociations).toEqual([{ associationId: expect.stringMatching(/^rtbassoc-/), subnetId: b.privateSubnetIds[0] }]);
    const actions = lab.api.requestLog.entries().map((e) => e.action);
    expect(new Set(actions)).toEqual(new Set(['DescribeInstances', 'DescribeNetworkInterfaces', 'DescribeRouteTables']));
    expect(actions.filter((x) => x === 'DescribeRouteTables')).toHaveLength(2); // 151 tables: two pages of 100
  });

  it('a stopped NAT shows stopped, and routes to it show blackhole', async () => {
    const b1 = lab.manifest.zones[1]!.natInstanceIds[0]!;
    lab.store.stopInstance(b1);
    await new Promise((r) => setTimeout(r, 200));
    const v = await observeVpc(lab.ec2, { vpcId: lab.manifest.vpcId, zones: ['a', 'b'] });
    expect(v.nodes.find((n) => n.id === b1)?.state).toBe('stopped');
    expect(v.routeTables.find((t) => t.zone === 'b')?.blackhole).toBe(true);
  });
});
