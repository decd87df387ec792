// `make demo`: the lab end to end. Brings up the default lab, shows the topology,
// sends egress from every app host and shows which EIP the internet saw, then
// moves zone a's default route with the AWS CLI while a UDP probe stream runs,
// and shows traffic moving. Everything it made is torn down, also on Ctrl-C.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/table.js';
import { parseConfigText } from '../src/config/load-file.js';
import { checkEgress } from './egress.js';
import { startLab, type RunningLab } from './lab.js';
import { describeLab } from './lab-status.js';
import { teardownLab } from './netns/dataplane.js';
import { distScript } from './netns/paths.js';
import { topologySchema } from './topology/schema.js';

const PREFIX = 'nkd-';
const AWS_CLI = '/usr/bin/aws'; // Debian's AWS CLI v2; a pip-installed v1 may shadow `aws` on PATH.

const step = (n: number, text: string) => console.log(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const nameOf = (lab: RunningLab, id: string) => lab.store.instance(id).tags.find((t) => t.key === 'Name')?.value ?? id;

function whoOwns(lab: RunningLab, publicIp: string | undefined): string {
  if (!publicIp) return 'no answer';
  const addr = lab.store.addresses.values().find((a) => a.publicIp === publicIp);
  const eni = addr?.networkInterfaceId ? lab.store.networkInterfaces.get(addr.networkInterfaceId) : undefined;
  if (!eni) return 'unknown';
  const floating = eni.tags.find((t) => t.key === 'natkeeper:floating');
  const on = eni.attachment ? nameOf(lab, eni.attachment.instanceId) : 'nothing';
  return floating ? `floating ENI of zone ${floating.value} (on ${on})` : `${on}'s own EIP`;
}

async function showEgress(lab: RunningLab, target: string, port: number): Promise<void> {
  const dp = lab.dataPlane!;
  const rows = [];
  for (const z of lab.manifest.zones)
    for (const app of z.appInstanceIds) {
      const r = await checkEgress(dp, app, target, port);
      const rt = lab.store.effectiveRouteTable(lab.store.instance(app).subnetId)!;
      const def = rt.routes.find((x) => x.destinationCidrBlock === '0.0.0.0/0');
      rows.push([nameOf(lab, app), z.name, def?.networkInterfaceId ?? def?.instanceId, r.seen ?? 'no answer', whoOwns(lab, r.seen), `${Math.round(r.ms)} ms`]);
    }
  console.log(formatTable(['app host', 'zone', 'default route →', 'internet saw', 'which is', 'took'], rows));
}

/** Runs the AWS CLI asynchronously: the lab's API server lives in this very process. */
function awsCli(lab: RunningLab, args: string[]): Promise<{ ok: boolean; out: string }> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'lab',
    AWS_SECRET_ACCESS_KEY: 'lab',
    AWS_DEFAULT_REGION: lab.manifest.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  const child = spawn(AWS_CLI, ['--endpoint-url', lab.endpoints.ec2, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ ok: code === 0, out: out.trim() })));
}

interface ProbeSummary {
  sent: number;
  lost: number;
  longestGapMs: number;
  transitions: { atMs: number; from: string; to: string }[];
}

function describeProbe(output: string): string {
  const last = output.trim().split('\n').pop() ?? '';
  try {
    const s = JSON.parse(last) as ProbeSummary;
    const moves = s.transitions.map((t) => `source moved ${t.from} → ${t.to} at ${t.atMs} ms`).join('; ');
    return `probe stream from app-a1-1: ${s.sent} sent, ${s.lost} lost, longest gap between answers ${Math.round(s.longestGapMs)} ms; ${moves || 'source never moved'}`;
  } catch {
    return `probe stream from app-a1-1: ${last || 'no output'}`;
  }
}

async function main(): Promise<void> {
  const topology = parseConfigText(topologySchema, '', 'default topology');
  const runDir = mkdtempSync(join(tmpdir(), 'natkeeper-demo-'));
  await teardownLab(PREFIX); // a demo killed earlier may have left namespaces
  let lab: RunningLab | undefined;
  const cleanup = async () => {
    await lab?.close();
    await teardownLab(PREFIX);
    rmSync(runDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    step(1, 'Bringing up the default lab: EC2 + Auto Scaling APIs, DynamoDB, and a network-namespace VPC');
    lab = await startLab({ topology, runDir, prefix: PREFIX, dataPlane: 'auto' });
    console.log(`EC2 API at ${lab.endpoints.ec2}, DynamoDB at ${lab.endpoints.dynamodb}`);
    if (!lab.dataPlane) {
      console.log(`\n${lab.dataPlaneNote}. The packet part of the demo needs root (run: sudo make demo).`);
      return;
    }
    const status = describeLab(lab.store, lab.manifest, lab.dataPlane, undefined);
    console.log(
      formatTable(
        ['instance', 'name', 'role', 'zone', 'private IPs', 'public IPs', 'namespace'],
        status.instances.map((i) => [i.instanceId, i.name, i.role, i.zone, i.interfaces.map((e) => e.privateIp).join(' '), i.interfaces.map((e) => e.publicIp).filter(Boolean).join(' '), i.namespace]),
      ),
    );
    console.log();
    console.log(formatTable(['zone', 'floating ENI', 'EIP', 'on'], status.floatingEnis.map((f) => [f.zone, f.networkInterfaceId, f.publicIp, f.attachedTo ? nameOf(lab!, f.attachedTo) : '-'])));

    const target = topology.internet.echoTargets[0]!;
    const port = topology.internet.echoPort;
    step(2, `Egress from every app host to the echo server at ${target}, which answers with the source address it saw`);
    await showEgress(lab, target, port);

    const zoneA = lab.manifest.zones[0]!;
    const rtb = zoneA.privateRouteTableIds[0]!;
    const standby = zoneA.natInstanceIds[1]!;
    const standbyEni = lab.store.primaryInterface(standby)!.networkInterfaceId;
    step(3, `A manual failover with the AWS CLI v2: zone a's default route to ${nameOf(lab, standby)}, while app-a1-1 sends a UDP probe every 20 ms`);
    if (!existsSync(AWS_CLI)) throw new Error(`${AWS_CLI} (Debian package awscli) is missing: run make deps`);
    const app = zoneA.appInstanceIds[0]!;
    const probe = spawn('ip', ['netns', 'exec', lab.dataPlane.requireNs(app), process.execPath, distScript('echo-client'), '--target', target, '--port', String(port), '--stream', '--interval', '20', '--duration', '4000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let probeOut = '';
    probe.stdout.on('data', (d: Buffer) => (probeOut += d.toString()));
    const probeDone = new Promise<void>((resolve) => probe.on('exit', () => resolve()));
    await new Promise((r) => setTimeout(r, 1000));
    const args = ['ec2', 'replace-route', '--route-table-id', rtb, '--destination-cidr-block', '0.0.0.0/0', '--network-interface-id', standbyEni];
    console.log(`$ aws --endpoint-url ${lab.endpoints.ec2} ${args.join(' ')}`);
    const replaced = await awsCli(lab, args);
    if (!replaced.ok) throw new Error(`the AWS CLI failed: ${replaced.out}`);
    console.log(replaced.out || '(no output: success)');
    const check = await awsCli(lab, ['ec2', 'describe-route-tables', '--route-table-ids', rtb, '--query', 'RouteTables[0].Routes[?DestinationCidrBlock==`0.0.0.0/0`].[NetworkInterfaceId,State]', '--output', 'text']);
    console.log(`$ aws ec2 describe-route-tables … → ${check.out}`);
    await probeDone;
    console.log(describeProbe(probeOut));

    step(4, 'Egress again: zone a now leaves through the standby and its own EIP; zones b and c did not move');
    await showEgress(lab, target, port);
    step(5, 'Tearing down: every namespace, link and process the lab made');
  } finally {
    await cleanup();
    console.log('done');
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
