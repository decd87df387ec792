// `natkeeper dataplane apply|verify|reset`: the on-instance NAT setup for operators.
// Parsing and validation only, then src/dataplane does the work. Bad values exit 2
// naming the option, before anything is read or changed.

import { connect } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { ImdsClient, DEFAULT_IMDS_BASE_URL } from '../aws/imds.js';
import { DataplaneConfigError, normalizeCidr, validateConfig, type DataplaneConfig, type RpFilter } from '../dataplane/config.js';
import { apply, reset, selfTest, verify, type Probe } from '../dataplane/executor.js';
import { PEER_MARK_BASE } from '../agent/peers.js';
import { removeAllPeerRouting } from '../probe/peer-route.js';
import { checkNamespaceName, removeSelfNamespace, SELF_NS_DEFAULT } from '../probe/self-namespace.js';
import { listLinks, resolveEgressInterfaces } from '../dataplane/interfaces.js';
import { planDataplane } from '../dataplane/plan.js';
import { localRunner, type Runner } from '../dataplane/runner.js';
import { DEFAULT_STATE_FILE, fileStateStore } from '../dataplane/state.js';
import { formatTable } from './table.js';

export type DataplaneAction = 'apply' | 'verify' | 'reset';

export interface DataplaneArgs {
  action: DataplaneAction;
  egressInterfaces: string[];
  excludeCidrs: string[];
  conntrackMax?: number;
  tcpEstablishedTimeoutSec?: number;
  udpTimeoutSec?: number;
  rpFilter?: RpFilter;
  imdsUrl: string;
  stateFile: string;
  selfNamespace: string;
  probeTarget?: { host: string; port: number };
  json: boolean;
}

export class UsageError extends Error {
  readonly exitCode = 2;
}

function int(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${option}: expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function program(): Command {
  return new Command('natkeeper dataplane')
    .description('on-instance NAT setup: forwarding, rp_filter, conntrack, and the nftables table "ip natkeeper"')
    .argument('<action>', 'apply | verify | reset')
    .option('--egress-interface <name>', 'interface to masquerade on (repeatable; default: every ENI IMDS lists, resolved by MAC)', collect, [])
    .option('--exclude-cidr <cidr>', 'destination never masqueraded (repeatable; default: the VPC CIDRs from IMDS)', collect, [])
    .option('--conntrack-max <n>', 'net.netfilter.nf_conntrack_max (default: the kernel value)')
    .option('--tcp-established-timeout <sec>', 'idle timeout of established TCP flows (default 350, as the NAT Gateway)')
    .option('--udp-timeout <sec>', 'UDP idle timeout (default: the kernel value, 30)')
    .addOption(new Option('--rp-filter <mode>', 'reverse-path filter: off | strict | loose (default loose)'))
    .option('--imds-url <url>', 'IMDS base URL', DEFAULT_IMDS_BASE_URL)
    .option('--state-file <path>', 'where sysctls found before apply are kept for reset', DEFAULT_STATE_FILE)
    .option('--self-namespace <name>', 'reset: the agent\'s probe namespace (probe.selfNamespace)', SELF_NS_DEFAULT)
    .option('--probe-target <host:port>', 'apply: after setup, a TCP connect through this node to host:port must succeed')
    .option('--json', 'machine-readable output', false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false);
}

/** Parses and validates argv (after "dataplane"); throws UsageError naming the option. */
export function parseDataplaneArgs(argv: readonly string[]): DataplaneArgs {
  const cmd = program();
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''));
    throw e;
  }
  const o = cmd.opts<Record<string, string | string[] | boolean | undefined>>();
  const action = cmd.args[0] ?? '';
  if (!['apply', 'verify', 'reset'].includes(action)) throw new UsageError(`action: expected apply, verify or reset, got ${JSON.stringify(action)}`);
  const args: DataplaneArgs = {
    action: action as DataplaneAction,
    egressInterfaces: o.egressInterface as string[],
    excludeCidrs: [],
    imdsUrl: o.imdsUrl as string,
    stateFile: o.stateFile as string,
    selfNamespace: o.selfNamespace as string,
    json: o.json === true,
  };
  try {
    checkNamespaceName(args.selfNamespace);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^probe\.selfNamespace/, '--self-namespace'));
  }
  try {
    args.excludeCidrs = (o.excludeCidr as string[]).map((c) => normalizeCidr('--exclude-cidr', c));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (typeof o.conntrackMax === 'string') args.conntrackMax = int('--conntrack-max', o.conntrackMax, 1024, 2 ** 31 - 1);
  if (typeof o.tcpEstablishedTimeout === 'string') args.tcpEstablishedTimeoutSec = int('--tcp-established-timeout', o.tcpEstablishedTimeout, 1, 2_147_483);
  if (typeof o.udpTimeout === 'string') args.udpTimeoutSec = int('--udp-timeout', o.udpTimeout, 1, 2_147_483);
  if (typeof o.rpFilter === 'string') {
    if (!['off', 'strict', 'loose'].includes(o.rpFilter)) throw new UsageError(`--rp-filter: expected off, strict or loose, got ${JSON.stringify(o.rpFilter)}`);
    args.rpFilter = o.rpFilter as RpFilter;
  }
  try {
    const u = new URL(args.imdsUrl);
    if (u.protocol !== 'http:') throw new Error('not http');
  } catch {
    throw new UsageError(`--imds-url: expected an http:// URL, got ${JSON.stringify(args.imdsUrl)}`);
  }
  if (typeof o.probeTarget === 'string') {
    const m = /^(.+):(\d+)$/.exec(o.probeTarget);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--probe-target: expected host:port, got ${JSON.stringify(o.probeTarget)}`);
    args.probeTarget = { host: m[1]!, port: Number(m[2]) };
  }
  // Interface names are checked here too, so a bad name exits 2 with nothing read.
  if (args.egressInterfaces.length) {
    try {
      validateConfig({ egressInterfaces: args.egressInterfaces });
    } catch (e) {
      throw new UsageError(`--egress-interface: ${(e as DataplaneConfigError).message.replace(/^egressInterfaces\[\d+\]: /, '')}`);
    }
  }
  return args;
}

export interface DataplaneCliDeps {
  runner?: Runner;
  imds?: ImdsClient;
  out?: (s: string) => void;
  err?: (s: string) => void;
}

/** The config: interfaces from the flags, or resolved from IMDS by MAC (with the VPC CIDRs as exclusions). */
async function buildConfig(args: DataplaneArgs, runner: Runner, imds: ImdsClient): Promise<DataplaneConfig> {
  let egress = args.egressInterfaces;
  let exclude = args.excludeCidrs;
  if (!egress.length) {
    const list = () => imds.networkInterfaces();
    const resolved = await resolveEgressInterfaces(list, () => listLinks(runner));
    egress = resolved.map((r) => r.name);
    if (!exclude.length) exclude = [...new Set((await list()).flatMap((i) => i.vpcCidrs))];
  }
  return validateConfig({
    egressInterfaces: egress,
    excludeDestinations: exclude,
    conntrack: {
      ...(args.conntrackMax !== undefined ? { max: args.conntrackMax } : {}),
      ...(args.tcpEstablishedTimeoutSec !== undefined ? { tcpEstablishedTimeoutSec: args.tcpEstablishedTimeoutSec } : {}),
      ...(args.udpTimeoutSec !== undefined ? { udpTimeoutSec: args.udpTimeoutSec } : {}),
    },
    ...(args.rpFilter ? { rpFilter: args.rpFilter } : {}),
  });
}

/** A TCP connect from this node: its own egress path works. */
export function tcpProbe(host: string, port: number, timeoutMs = 3000): Probe {
  return () =>
    new Promise((resolve) => {
      const started = performance.now();
      const sock = connect({ host, port });
      const done = (ok: boolean, detail: string) => {
        sock.destroy();
        resolve({ ok, detail });
      };
      sock.setTimeout(timeoutMs, () => done(false, `TCP ${host}:${port}: no answer within ${timeoutMs} ms`));
      sock.on('connect', () => done(true, `TCP ${host}:${port} connected in ${Math.round(performance.now() - started)} ms`));
      sock.on('error', (e) => done(false, `TCP ${host}:${port}: ${e.message}`));
    });
}

export async function runDataplaneCli(argv: readonly string[], deps: DataplaneCliDeps = {}): Promise<number> {
  const out = deps.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = deps.err ?? ((s: string) => process.stderr.write(s + '\n'));
  if (argv.includes('--help') || argv.includes('-h')) {
    out(program().helpInformation());
    return 0;
  }
  let args: DataplaneArgs;
  try {
    args = parseDataplaneArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`natkeeper dataplane: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const runner = deps.runner ?? localRunner();
  const state = fileStateStore(args.stateFile);
  const print = (json: unknown, human: string) => out(args.json ? JSON.stringify(json, null, 2) : human);
  try {
    if (args.action === 'reset') {
      const r = await reset(runner, { state });
      // Also what the agent made for probing: peer-vantage routing and the probe namespace.
      const probing = await removeAllPeerRouting(runner, { base: PEER_MARK_BASE, count: 256 });
      const ns = await runner(['ip', 'netns', 'list']);
      if (ns.code === 0 && ns.stdout.split('\n').some((l) => l.split(' ')[0] === args.selfNamespace)) {
        await removeSelfNamespace(runner, args.selfNamespace);
        probing.push(`probe namespace ${args.selfNamespace}`);
      }
      print({ ...r, removedProbing: probing }, [
        r.removedTable ? 'removed nft table ip natkeeper' : 'nft table ip natkeeper: not present',
        ...probing.map((p) => `removed ${p}`),
        ...r.restored.map((x) => `restored ${x.key} = ${x.value}`),
        ...r.notes.map((n) => `note: ${n}`),
        ...(r.reason ? [`reset failed: ${r.reason}`] : []),
      ].join('\n'));
      return r.ok ? 0 : 1;
    }
    const plan = planDataplane(await buildConfig(args, runner, deps.imds ?? new ImdsClient({ baseUrl: args.imdsUrl })));
    if (args.action === 'verify') {
      const v = await verify(plan, runner);
      print(
        { ...v, config: plan.config },
        v.ok ? 'data plane as planned' : formatTable(['what', 'expected', 'actual'], v.differences.map((d) => [d.name, d.expected, d.actual])),
      );
      return v.ok ? 0 : 1;
    }
    const a = await apply(plan, runner, { state });
    const t = a.ok ? await selfTest(plan, runner, args.probeTarget ? tcpProbe(args.probeTarget.host, args.probeTarget.port) : undefined) : undefined;
    const ok = a.ok && t?.ok === true;
    const reason = a.reason ?? t?.reason;
    print({ ok, apply: a, selfTest: t, config: plan.config, ...(reason ? { reason } : {}) }, [
      a.changed.length ? `changed: ${a.changed.join(', ')}` : 'nothing to change',
      ...(t ? [formatTable(['check', 'ok', 'detail'], t.checks.map((c) => [c.name, c.ok, c.detail]))] : []),
      ...(ok ? [] : [`failed: ${reason ?? 'unknown'}`]),
    ].join('\n'));
    return ok ? 0 : 1;
  } catch (e) {
    const msg = e instanceof DataplaneConfigError ? e.message : (e as Error).message;
    if (args.json) out(JSON.stringify({ ok: false, reason: msg }));
    err(`natkeeper dataplane ${args.action}: ${msg}`);
    return 1;
  }
}
