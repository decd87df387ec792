// Peer discovery and the EC2 state watch of silent peers, against the lab's EC2 API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPeers } from '../../src/agent/peer-discovery.js';
import { createPeerStateWatch } from '../../src/agent/peer-state-watch.js';
import type { Ec2StateSignal } from '../../src/domain/signals.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import { until } from '../support/async.js';

describe('peers from the EC2 API', () => {
  let lab: ApiLab;
  const clock = { now: () => Date.now() };
  const vpcId = () => lab.manifest.vpcId;
  const nats = () => lab.manifest.zones.flatMap((z) => z.natInstanceIds);

  beforeAll(async () => {
    lab = await startApiLab();
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('discovers every other NAT of the VPC by tag, with its primary private IP, sorted by id; app hosts are not peers', async () => {
    const [self, ...others] = nats();
    const peers = await discoverPeers(lab.ec2, { self: self!, vpcId: vpcId(), tag: 'natkeeper:role=nat', heartbeatPort: 9470 });
    expect(peers.map((p) => p.id)).toEqual([...others].sort());
    for (const p of peers) expect(p.address).toBe(lab.store.primaryInterface(p.id)!.privateIpAddress);
    expect(peers.every((p) => p.heartbeatPort === 9470)).toBe(true);
    expect(await discoverPeers(lab.ec2, { self: self!, vpcId: vpcId(), tag: 'natkeeper:role=nope', heartbeatPort: 9470 })).toEqual([]);
  });

  it('a stopped NAT is not a peer any more', async () => {
    const [self, , victim] = nats();
    lab.store.stopInstance(victim!);
    await until('the NAT stopped', () => lab.store.instances.get(victim!)?.state === 'stopped', 5_000);
    const peers = await discoverPeers(lab.ec2, { self: self!, vpcId: vpcId(), tag: 'natkeeper:role=nat', heartbeatPort: 9470 });
    expect(peers.map((p) => p.id)).not.toContain(victim);
    lab.store.startInstance(victim!);
    await until('the NAT runs again', () => lab.store.instances.get(victim!)?.state === 'running', 5_000);
  });

  it('state watch: no calls while every peer is heard; a lost peer is read until heard again, then once more', async () => {
    const [, a2] = nats();
    const signals: Ec2StateSignal[] = [];
    const watch = createPeerStateWatch({ ec2: lab.ec2, clock, logger: silentLogger, onSignal: (s) => signals.push(s), pollMs: 50 });
    try {
      lab.api.requestLog.clear();
      watch.heard(a2!);
      await new Promise((r) => setTimeout(r, 200));
      expect(lab.api.requestLog.entries()).toHaveLength(0);

      watch.lost(a2!);
      await until('the running state read', () => signals.some((s) => s.node === a2 && s.state === 'running'), 3_000);
      lab.store.stopInstance(a2!);
      await until('the stopped state read', () => signals.some((s) => s.node === a2 && s.state === 'stopped'), 3_000);
      expect(watch.watching()).toEqual([a2]);

      lab.store.startInstance(a2!);
      await until('running again', () => lab.store.instances.get(a2!)?.state === 'running', 3_000);
      watch.heard(a2!);
      expect(watch.watching()).toEqual([]);
      await until('the last read shows it running', () => signals.at(-1)?.state === 'running', 3_000);
      // A read in flight when the peer was heard may land first; the one last read follows it.
      await until('reads stop', async () => {
        const n = lab.api.requestLog.entries().length;
        await new Promise((r) => setTimeout(r, 150));
        return lab.api.requestLog.entries().length === n ? true : undefined;
      }, 3_000);
      expect(signals.at(-1)?.state).toBe('running');
      const calls = lab.api.requestLog.entries().length;
      await new Promise((r) => setTimeout(r, 300));
      expect(lab.api.requestLog.entries().length).toBe(calls);
    } finally {
      await watch.stop();
    }
  });

  it('state watch: a peer unknown to EC2 reads as terminated', async () => {
    const signals: Ec2StateSignal[] = [];
    const watch = createPeerStateWatch({ ec2: lab.ec2, clock, logger: silentLogger, onSignal: (s) => signals.push(s), pollMs: 50 });
    try {
      watch.lost('i-0000000000000dead');
      await until('terminated', () => signals.find((s) => s.node === 'i-0000000000000dead'), 3_000);
      expect(signals[0]).toMatchObject({ kind: 'ec2-state', state: 'terminated' });
    } finally {
      await watch.stop();
    }
  });
});
