// The peer vantage in the lab: inside NAT a1's namespace, a probe script (built
// dist/src/probe) installs the source-port-range marking for peer a2 and TCP-probes
// an echo target at port 7. Probes from a2's port range leave through a2 (the echo
// server sees a2's EIP); ordinary sockets still leave through a1 itself.
// Traffic stays inside the lab's namespaces.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distFile } from '../support/dist.js';
import { publicIpOf, skipE2e, startDataPlaneLab, suiteName, type DataPlaneLab } from './dataplane-lab.js';

// Runs inside a1's namespace. argv[2] is JSON: { op: 'apply'|'probe'|'remove', route, target, port }.
const SCRIPT = (probeIndex: string, runnerModule: string) => `
import net from 'node:net';
import { applyPeerRoutes, removePeerRoutes, tcpProbe, PortAllocator } from ${JSON.stringify(probeIndex)};
import { localRunner } from ${JSON.stringify(runnerModule)};
const args = JSON.parse(process.argv[2]);
const clock = { now: () => Date.now() };
function seenFrom(localPort) {
  return new Promise((resolve) => {
    const s = net.connect({ host: args.target, port: args.port, ...(localPort ? { localPort } : {}) });
    const t = setTimeout(() => { s.destroy(); resolve({ error: 'timeout' }); }, 2000);
    let buf = '';
    s.setEncoding('utf8').on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\\n');
      if (nl >= 0) { clearTimeout(t); s.resetAndDestroy(); resolve(JSON.parse(buf.slice(0, nl))); }
    });
    s.on('error', (e) => { clearTimeout(t); resolve({ error: String(e) }); });
  });
}
let out;
if (args.op === 'apply') out = await applyPeerRoutes(localRunner(), [args.route]);
else if (args.op === 'remove') out = await removePeerRoutes(localRunner(), [args.route]);
else {
  const ports = new PortAllocator(args.route.portRange);
  const probe = await tcpProbe(args.target, args.port, { timeoutMs: 2000, clock, localPort: ports.take() });
  const viaPeer = await seenFrom(ports.take());
  const viaSelf = await seenFrom(undefined);
  out = { probe, viaPeer, viaSelf };
}
process.stdout.write(JSON.stringify(out));
`;

describe.skipIf(skipE2e)(suiteName('probe: peer vantage through a peer NAT'), () => {
  let lab: DataPlaneLab;
  let dir: string;
  let script: string;
  const zoneA = () => lab.manifest.zones[0]!;
  const [a1, a2] = [() => zoneA().natInstanceIds[0]!, () => zoneA().natInstanceIds[1]!];
  const route = () => ({
    peerId: a2(),
    peerIp: lab.store.primaryInterface(a2())!.privateIpAddress,
    portRange: { from: 61000, to: 61049 },
    mark: 0x4e4b0001,
    table: 201,
  });
  const run = async (op: string) => {
    const r = await lab.sh(a1(), [process.execPath, script, JSON.stringify({ op, route: route(), target: lab.topology.internet.echoTargets[0]!, port: lab.topology.internet.echoPort })], 15_000);
    if (r.code !== 0) throw new Error(`probe script ${op} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    const probeIndex = pathToFileURL(distFile('src/probe/index.js')).href;
    const runnerModule = pathToFileURL(distFile('src/dataplane/runner.js')).href;
    dir = mkdtempSync(join(tmpdir(), 'nkp-probe-'));
    script = join(dir, 'probe.mjs');
    writeFileSync(script, SCRIPT(probeIndex, runnerModule));
    lab = await startDataPlaneLab('p', { realism: { eniAttachMs: 0, eniDetachMs: 0, instanceStopMs: 0, instanceStartMs: 0, instanceTerminateMs: 0, mutatingLatencyMs: 0 } });
  });
  afterAll(async () => {
    try {
      await lab?.close();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probes from the peer port range leave by a2, others by a1; remove restores a1', async () => {
    expect(lab.prefix).toMatch(/^nkp[0-9a-f]{4}-$/);
    const a2Eip = publicIpOf(lab.store, lab.store.primaryInterface(a2())!.networkInterfaceId);
    const a1Eip = publicIpOf(lab.store, zoneA().floatingEniId!);
    expect(a2Eip).not.toBe(a1Eip);

    expect(await run('apply')).toEqual({ ok: true });
    const r1 = await run('probe');
    expect(r1.probe).toMatchObject({ ok: true });
    expect(r1.viaPeer).toMatchObject({ seen: a2Eip, port: expect.any(Number) });
    expect(r1.viaSelf).toMatchObject({ seen: a1Eip });

    // Re-applying is idempotent.
    expect(await run('apply')).toEqual({ ok: true });
    const rules = await lab.ipIn(lab.dp.nsOf(a1())!, 'rule', 'show');
    expect(rules.match(/fwmark 0x4e4b0001 lookup 201/g)).toHaveLength(1);

    expect(await run('remove')).toEqual({ ok: true });
    expect(await lab.ipIn(lab.dp.nsOf(a1())!, 'rule', 'show')).not.toMatch(/fwmark/);
    const r2 = await run('probe');
    expect(r2.viaPeer).toMatchObject({ seen: a1Eip });
  });
});
