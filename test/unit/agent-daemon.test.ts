import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAgent, type AgentDeps, type RunningAgent } from '../../src/agent/daemon.js';
import { runAgentCli } from '../../src/cli/agent.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import type { Runner } from '../../src/dataplane/runner.js';
import { memoryStateStore } from '../../src/dataplane/state.js';
import type { ProbeFn } from '../../src/probe/index.js';
import { until as waitFor } from '../support/async.js';

/** A pretend kernel behind the Runner: sysctls, links, and natkeeper's nft table as loaded. */
function fakeKernel(opts: { failNft?: boolean } = {}) {
  const links = [{ ifname: 'lo', address: '00:00:00:00:00:00' }, { ifname: 'eth0', address: '02:aa:00:00:00:01' }];
  const sysctls = new Map(
    Object.entries({
      'net.ipv4.ip_forward': '0',
      'net.ipv4.conf.all.rp_filter': '1',
      'net.ipv4.conf.default.rp_filter': '1',
      'net.ipv4.conf.eth0.rp_filter': '1',
      'net.netfilter.nf_conntrack_tcp_timeout_established': '432000',
      'net.netfilter.nf_conntrack_count': '12',
      'net.netfilter.nf_conntrack_max': '65536',
    }),
  );
  let table: string | undefined;
  const calls: string[] = [];
  const runner: Runner = async (argv, o = {}) => {
    calls.push(argv.join(' '));
    const [cmd, ...a] = argv;
    const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
    if (cmd === 'sysctl' && a[0] === '-n') {
      const v = sysctls.get(a[1]!);
      return v === undefined ? { code: 255, stdout: '', stderr: `sysctl: cannot stat /proc/sys/${a[1]}: No such file or directory` } : ok(`${v}\n`);
    }
    if (cmd === 'sysctl' && a[0] === '-w') {
      const [k, v] = a[1]!.split('=') as [string, string];
      sysctls.set(k, v);
      return ok();
    }
    if (cmd === 'ip' && a.join(' ') === '-j link show') return ok(JSON.stringify(links));
    if (cmd === 'ip') return ok(); // peer routes and rules
    if (cmd === 'nft' && a[0] === '-f') {
      const script = o.input ?? '';
      if (script.includes('natkeeper_probe')) return ok();
      if (opts.failNft) return { code: 1, stdout: '', stderr: 'Error: Could not process rule: Operation not permitted' };
      const body = /^table ip natkeeper \{\n([\s\S]*)\n\}\n$/m.exec(script.split('delete table ip natkeeper\n')[1] ?? '');
      table = body?.[1];
      return ok();
    }
    if (cmd === 'nft' && a.join(' ') === '-j list table ip natkeeper') {
      if (table === undefined) return { code: 1, stdout: '', stderr: 'Error: No such file or directory\nlist table ip natkeeper' };
      const oif = /oifname \{ ([^}]*) \}/.exec(table)![1]!.split(', ').map((s) => s.replaceAll('"', ''));
      const ex = /ip daddr != \{ ([^}]*) \}/.exec(table)?.[1]?.split(', ');
      const expr: unknown[] = [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: oif } } }];
      if (ex) {
        const [addr, len] = ex[0]!.split('/');
        expr.push({ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr, len: Number(len) } } } });
      }
      expr.push({ counter: { packets: 0, bytes: 0 } }, { masquerade: null });
      return ok(
        JSON.stringify({
          nftables: [
            { table: { family: 'ip', name: 'natkeeper', handle: 1 } },
            { chain: { family: 'ip', table: 'natkeeper', name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
            { rule: { family: 'ip', table: 'natkeeper', chain: 'postrouting', expr } },
          ],
        }),
      );
    }
    return { code: 127, stdout: '', stderr: `unexpected ${argv.join(' ')}` };
  };
  return { runner, sysctls, calls, links, table: () => table };
}

const fakeImds = (id: string): NonNullable<AgentDeps['imds']> => ({
  get: async (path: string) => ({ 'instance-id': id, 'placement/availability-zone': 'eu-west-1a' })[path],
  networkInterfaces: async () => [{ mac: '02:aa:00:00:00:01', deviceNumber: 0, vpcCidrs: ['10.0.0.0/16'] }],
});

const okProbe: ProbeFn = async () => ({ ok: true, latencyMs: 3 });

const TARGETS = `targets:
    - { kind: tcp, host: 127.0.9.1, port: 7, timeoutMs: 100 }
    - { kind: tcp, host: 127.0.9.2, port: 7, timeoutMs: 100 }
    - { kind: http, host: 127.0.9.3, timeoutMs: 100 }`;

function config(extra = '') {
  return parseAgentConfig(`probe:\n  intervalMs: 20\n  ${TARGETS}\nverdict: { minStableMs: 100, minVantages: 1 }\nhttp: { listen: "127.0.0.1:0" }\n${extra}`);
}

const running: RunningAgent[] = [];
async function start(cfg = config(), deps: AgentDeps = {}) {
  const a = await startAgent(cfg, { runner: fakeKernel().runner, imds: fakeImds('i-aaaa'), probe: okProbe, state: memoryStateStore(), verifyEveryMs: 20, setupRetryMs: 50, resolve: { attempts: 2, delayMs: 5 }, heartbeatBindAddress: '127.0.0.1', heartbeatPort: 0, ec2: null, autoScaling: null, leaseStore: null, ...deps });
  running.push(a);
  return a;
}
const get = async (a: RunningAgent, path: string) => {
  const r = await fetch(`http://127.0.0.1:${a.http.port}${path}`);
  return { code: r.status, body: await r.text() };
};
const until = <T>(fn: () => Promise<T | undefined> | T | undefined) => waitFor('the agent to get there', fn, 5_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});

describe('natkeeper agent CLI', () => {
  it('a bad config file exits 2 naming the field, before anything is started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-agent-cli-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'probe:\n  targets:\n    - { kind: tcp, host: 127.0.9.1, port: 70000 }\n');
      const err: string[] = [];
      const startFn = vi.fn();
      expect(await runAgentCli(['--config', file], { err: (s) => err.push(s), start: startFn })).toBe(2);
      expect(err.join('\n')).toMatch(/probe\.targets\[0\]\.port: expected a port from 1 to 65535/);
      expect(startFn).not.toHaveBeenCalled();
      expect(await runAgentCli([], { err: (s) => err.push(s), start: startFn })).toBe(2);
      expect(err.at(-1)).toMatch(/--config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs until SIGTERM, announces the handover, stops and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-agent-cli-'));
    try {
      const file = join(dir, 'ok.yaml');
      writeFileSync(file, `probe:\n  intervalMs: 20\n  ${TARGETS}\nhttp: { listen: "127.0.0.1:0" }\n`);
      const { EventEmitter } = await import('node:events');
      const signals = new EventEmitter() as unknown as Pick<NodeJS.Process, 'once' | 'off'>;
      const lines: string[] = [];
      const done = runAgentCli(['--config', file, '--state-file', join(dir, 'state.json')], {
        signals,
        logWrite: (l) => lines.push(l),
        agentDeps: { runner: fakeKernel().runner, imds: fakeImds('i-cli'), probe: okProbe, resolve: { attempts: 1, delayMs: 1 }, ec2: null, autoScaling: null, leaseStore: null, heartbeatPort: 0 },
      });
      await until(() => (lines.some((l) => l.includes('"agent_running"')) ? true : undefined));
      (signals as unknown as InstanceType<typeof EventEmitter>).emit('SIGTERM', 'SIGTERM');
      expect(await done).toBe(0);
      const events = lines.map((l) => (JSON.parse(l) as { event: string }).event);
      expect(events).toEqual(expect.arrayContaining(['dataplane_setup_passed', 'agent_signal', 'planned_handover', 'agent_stopped']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent daemon', () => {
  it('sets up the data plane (interfaces by MAC from IMDS), probes, and reports healthy on /healthz, /status, /metrics', async () => {
    const k = fakeKernel();
    const a = await start(config(), { runner: k.runner });
    expect(a.node).toBe('i-aaaa');
    expect(k.calls).toContain('sysctl -w net.ipv4.ip_forward=1');
    const status = await until(async () => {
      const s = JSON.parse((await get(a, '/status')).body) as { verdicts: { node: string; state: string }[] };
      return s.verdicts.find((v) => v.node === 'i-aaaa')?.state === 'healthy' ? s : undefined;
    });
    expect(status).toMatchObject({ node: { id: 'i-aaaa', zone: 'eu-west-1a' }, setup: { state: 'passed' }, selfTest: { state: 'passed' }, lease: null, peers: [] });
    expect((status as unknown as { probes: unknown[] }).probes).toHaveLength(3);
    expect((await get(a, '/healthz')).code).toBe(200);
    const m = (await get(a, '/metrics')).body;
    expect(m).toMatch(/natkeeper_probe_latency_seconds_count\{target="tcp:127.0.9.1:7",vantage="self"\} [1-9]/);
    expect(m).toMatch(/natkeeper_conntrack_entries 12/);
    // /status can show the verdict a moment before the transition is counted (on the next signal).
    await until(async () => ((await get(a, '/metrics')).body.match(/natkeeper_verdict_transitions_total\{node="i-aaaa",from="unknown",to="healthy"\} 1/) ? true : undefined));
  });

  it('a failed setup never reports healthy and says why', async () => {
    const a = await start(config(), { runner: fakeKernel({ failNft: true }).runner });
    await new Promise((r) => setTimeout(r, 300)); // probes pass meanwhile
    const h = await get(a, '/healthz');
    expect(h.code).toBe(503);
    expect(JSON.parse(h.body).reason).toMatch(/^setup failed: setup failed: loading the nftables ruleset: .*Operation not permitted/);
    expect(a.status().selfTest.state).toBe('pending');
  });

  it('a failing self-test probe keeps the node unhealthy', async () => {
    const a = await start(config(), { probe: async () => ({ ok: false, latencyMs: 100, error: 'timeout' }) });
    const s = a.status();
    expect(s.setup.state).toBe('passed');
    expect(s.selfTest).toMatchObject({ state: 'failed', reason: expect.stringMatching(/probe: probes through this node: tcp:127.0.9.1:7 timeout/) });
    expect((await get(a, '/healthz')).code).toBe(503);
  });

  it('drift after setup (forwarding turned off) is reported, not repaired', async () => {
    const k = fakeKernel();
    const a = await start(config(), { runner: k.runner });
    expect(a.status().selfTest.state).toBe('passed');
    k.sysctls.set('net.ipv4.ip_forward', '0');
    const h = await until(async () => {
      const r = await get(a, '/healthz');
      return r.code === 503 ? r : undefined;
    });
    expect(JSON.parse(h.body).reason).toMatch(/data plane changed since setup: .*net\.ipv4\.ip_forward/);
    expect(k.sysctls.get('net.ipv4.ip_forward')).toBe('0');
  });

  it('two agents with static peers: heartbeats flow, probes through a peer judge the peer', async () => {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const cfg = (peer: string, own: number, theirs: number) =>
      config(`heartbeat: { port: ${own}, intervalMs: 20 }\npeers: { mode: static, nodes: [{ id: ${peer}, address: 127.0.0.1, heartbeatPort: ${theirs} }] }\n`);
    // Probes through i-bbbb (from a's source-port range) fail: i-bbbb is a hung NAT.
    const throughBFails: ProbeFn = async (_t, o) => (o.localPort !== undefined ? { ok: false, latencyMs: 50, error: 'ECONNREFUSED' } : { ok: true, latencyMs: 2 });
    const k = fakeKernel();
    const a = await start(cfg('i-bbbb', base, base + 1), { runner: k.runner, probe: throughBFails, heartbeatPort: base });
    const b = await start(cfg('i-aaaa', base + 1, base), { imds: fakeImds('i-bbbb'), heartbeatPort: base + 1 });
    expect(k.calls.some((c) => c.startsWith('ip rule add priority 1000 fwmark 0x4e4b0001/0xffffffff lookup 201'))).toBe(true);
    const s = await until(() => {
      const s = a.status();
      return s.verdicts.find((v) => v.node === 'i-bbbb')?.state === 'unhealthy' && s.peers[0]?.lastHeartbeatAt !== undefined ? s : undefined;
    });
    expect(s.verdicts.find((v) => v.node === 'i-aaaa')?.state).not.toBe('unhealthy');
    const through = s.probes.filter((p) => (p as { node?: string }).node === 'i-bbbb' && p.vantage === 'peer:i-aaaa');
    expect(through).toHaveLength(3);
    expect(through[0]).toMatchObject({ vantage: 'peer:i-aaaa', ok: false, error: 'ECONNREFUSED' });
    expect((await get(a, '/metrics')).body).toMatch(/natkeeper_probe_failures_total\{target="tcp:127.0.9.1:7",vantage="peer:i-bbbb"\} [1-9]/);
    await until(() => (b.status().peers[0]?.seq !== undefined ? true : undefined));
  });

  it('shared results give both agents both vantages: a hung b is unhealthy in a’s and b’s verdicts at minVantages 2', async () => {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const cfg = (peer: string, own: number, theirs: number) =>
      parseAgentConfig(
        `probe:\n  intervalMs: 20\n  ${TARGETS}\nverdict: { minStableMs: 100, minVantages: 2 }\nhttp: { listen: "127.0.0.1:0" }\n` +
          `heartbeat: { port: ${own}, intervalMs: 20 }\npeers: { mode: static, nodes: [{ id: ${peer}, address: 127.0.0.1, heartbeatPort: ${theirs} }] }\n`,
      );
    // a: its own probes pass, its probes through b fail. b: every probe of its own fails,
    // its probes through a pass. Each agent alone sees b failing from one vantage only.
    const aProbe: ProbeFn = async (_t, o) => (o.localPort !== undefined || o.mark !== undefined ? { ok: false, latencyMs: 50, error: 'timeout' } : { ok: true, latencyMs: 2 });
    const bProbe: ProbeFn = async (_t, o) => (o.localPort !== undefined || o.mark !== undefined ? { ok: true, latencyMs: 2 } : { ok: false, latencyMs: 50, error: 'timeout' });
    const a = await start(cfg('i-bbbb', base, base + 1), { probe: aProbe, heartbeatPort: base });
    const b = await start(cfg('i-aaaa', base + 1, base), { imds: fakeImds('i-bbbb'), probe: bProbe, heartbeatPort: base + 1 });
    for (const agent of [a, b]) {
      const s = await until(() => {
        const s = agent.status();
        return s.verdicts.find((v) => v.node === 'i-bbbb')?.state === 'unhealthy' ? s : undefined;
      });
      expect(s.verdicts.find((v) => v.node === 'i-aaaa')?.state).not.toBe('unhealthy');
      const aboutB = s.probes.filter((p) => (p as { node?: string }).node === 'i-bbbb');
      expect(new Set(aboutB.map((p) => p.vantage))).toEqual(new Set(['self', 'peer:i-aaaa']));
    }
    // Metrics count only each agent's own probes: a never probed b's "self" vantage.
    const metrics = (await get(a, '/metrics')).body;
    expect(metrics).not.toMatch(/vantage="peer:i-bbbb"\} 0\n[\s\S]*natkeeper_probe_latency_seconds_count\{target="[^"]+",vantage="self"\} 0/);
    expect(metrics).toMatch(/natkeeper_probe_failures_total\{target="tcp:127.0.9.1:7",vantage="peer:i-bbbb"\} [1-9]/);
    expect(metrics).not.toMatch(/natkeeper_probe_failures_total\{target="tcp:127.0.9.1:7",vantage="self"\} [1-9]/);
  });

  it('an ENI attached later (the floating ENI moving here) is set up at once, and its departure is no drift', async () => {
    const k = fakeKernel();
    const enis = [{ mac: '02:aa:00:00:00:01', deviceNumber: 0, vpcCidrs: ['10.0.0.0/16'] }];
    const imds: NonNullable<AgentDeps['imds']> = { get: async (p: string) => ({ 'instance-id': 'i-aaaa' })[p], networkInterfaces: async () => enis.map((e) => ({ ...e })) };
    const a = await start(config(), { runner: k.runner, imds });
    await until(() => (a.status().selfTest.state === 'passed' ? true : undefined));
    expect(k.table()).not.toMatch(/eth1/);
    k.links.push({ ifname: 'eth1', address: '02:aa:00:00:00:02' });
    enis.push({ mac: '02:aa:00:00:00:02', deviceNumber: 1, vpcCidrs: ['10.0.0.0/16'] });
    await until(() => (/"eth1"/.test(k.table() ?? '') ? true : undefined));
    expect(a.status().selfTest.state).toBe('passed');
    k.links.pop();
    enis.pop();
    await until(() => (!/eth1/.test(k.table() ?? '') ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.status().selfTest).toMatchObject({ state: 'passed' });
  });
});
