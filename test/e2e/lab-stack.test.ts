// The whole lab in one process, as natkeeper will use it: AWS SDK calls against
// the emulated APIs change real packet paths; IMDS answers inside instances;
// chaos, EC2 state, events and the Auto Scaling group play together.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRouteTablesCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-file.js';
import { checkEgress } from '../../lab/egress.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { teardownLab } from '../../lab/netns/dataplane.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { until } from '../support/async.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nks${process.pid.toString(16).slice(-4)}-`;

describe.skipIf(skipE2e)(suiteName('the lab end to end (root)'), () => {
  let lab: RunningLab;
  let ec2: EC2Client;
  let runDir: string;
  let webhook: Server;
  const received: { 'detail-type': string; detail: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'nk-stack-'));
    const topology = parseConfigText(
      topologySchema,
      'autoScaling: { replacementDelayMs: 300 }\nrealism: { mutatingLatencyMs: 0, eniAttachMs: 200, eniDetachMs: 100, instanceStartMs: 200, instanceStopMs: 200, instanceTerminateMs: 200, killStateDelayMs: 300 }',
      'test topology',
    );
    lab = await startLab({ topology, runDir, prefix: PREFIX, dataPlane: 'on' });
    ec2 = new EC2Client({ endpoint: lab.endpoints.ec2, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    const port = (webhook.address() as { port: number }).port;
    lab.events.subscribe(`http://127.0.0.1:${port}/hook`);
  }, 120_000);

  afterAll(async () => {
    ec2?.destroy();
    webhook?.close();
    await lab?.close();
    await teardownLab(PREFIX);
    rmSync(runDir, { recursive: true, force: true });
  }, 60_000);

  const zoneA = () => lab.manifest.zones[0]!;
  const egressOf = async (app: string) => (await checkEgress(lab.dataPlane!, app, '198.51.100.11', 7)).seen;
  const eipOf = (eniId: string) => lab.store.addresses.values().find((a) => a.networkInterfaceId === eniId)?.publicIp;

  it('ReplaceRoute through the SDK moves an app host egress to the standby and its EIP', async () => {
    const app = zoneA().appInstanceIds[0]!;
    expect(await egressOf(app)).toBe(eipOf(zoneA().floatingEniId!));
    const standbyEni = lab.store.primaryInterface(zoneA().natInstanceIds[1]!)!.networkInterfaceId;
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: zoneA().privateRouteTableIds[0], DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: standbyEni }));
    await lab.dataPlane!.settled();
    expect(await egressOf(app)).toBe(eipOf(standbyEni));
    // and back, so later tests start from the default topology
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: zoneA().privateRouteTableIds[0], DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: zoneA().floatingEniId }));
    await lab.dataPlane!.settled();
    expect(await egressOf(app)).toBe(eipOf(zoneA().floatingEniId!));
  });

  it('source/dest check turned on through the API makes the NAT forward nothing', async () => {
    const app = lab.manifest.zones[2]!.appInstanceIds[0]!;
    // Zone c egresses through its floating ENI: that interface's check is the one that matters.
    const floatingEni = lab.manifest.zones[2]!.floatingEniId!;
    const setCheck = (on: boolean) =>
      ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: floatingEni, SourceDestCheck: { Value: on } }));
    expect(await egressOf(app)).toBe(eipOf(floatingEni));
    await setCheck(true);
    await lab.dataPlane!.settled();
    expect(await egressOf(app)).toBeUndefined();
    await setCheck(false);
    await lab.dataPlane!.settled();
    expect(await egressOf(app)).toBe(eipOf(floatingEni));
  });

  it('IMDSv2 answers inside the instance namespace, with a token', async () => {
    const nat = zoneA().natInstanceIds[0]!;
    const script = `
      const base = 'http://169.254.169.254/latest';
      const noToken = await fetch(base + '/meta-data/instance-id');
      const token = await (await fetch(base + '/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
      const h = { headers: { 'X-aws-ec2-metadata-token': token } };
      const id = await (await fetch(base + '/meta-data/instance-id', h)).text();
      const az = await (await fetch(base + '/meta-data/placement/availability-zone', h)).text();
      const macs = await (await fetch(base + '/meta-data/network/interfaces/macs/', h)).text();
      console.log(JSON.stringify({ noToken: noToken.status, id, az, macs: macs.split('\\n').filter(Boolean).length }));`;
    const r = await lab.dataPlane!.exec(nat, [process.execPath, '--input-type=module', '-e', script], { timeoutMs: 10_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ noToken: 401, id: nat, az: 'us-east-1a', macs: 2 });
  });

  it('chaos kill: egress stops at once, EC2 follows, routes blackhole, events fire, the ASG replaces the node', async () => {
    const zoneB = lab.manifest.zones[1]!;
    const nat = zoneB.natInstanceIds[0]!;
    const app = zoneB.appInstanceIds[0]!;
    expect(await egressOf(app)).toBeDefined();
    await lab.chaos.run({ verb: 'kill', instance: nat });
    expect(await egressOf(app)).toBeUndefined();
    // EC2 notices the dead host (stopping); the group then takes it out and terminates it.
    await until('EC2 to show the killed node down', () => lab.store.instance(nat).state !== 'running');
    const rt = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [zoneB.privateRouteTableIds[0]!] }));
    expect(rt.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.State).toBe('blackhole');
    await until('a state-change event for the killed node', () =>
      received.find((e) => e['detail-type'] === 'EC2 Instance State-change Notification' && e.detail['instance-id'] === nat && e.detail.state === 'stopping'),
    );
    const replacement = await until('the ASG to launch a replacement', () =>
      lab.store.autoScalingGroups.get(zoneB.autoScalingGroupName)!.instances.find((i) => i.instanceId !== nat && i.lifecycleState === 'InService'),
    );
    await until('the replacement to run with a namespace', () => lab.store.instance(replacement.instanceId).state === 'running' && lab.dataPlane!.nsOf(replacement.instanceId));
  }, 60_000);
});
