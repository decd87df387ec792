// The agent's config file (natkeeper.yaml): one zod schema, every field documented
// with its default. Loading it (loadAgentConfig) only reads the file: a bad file is a
// ConfigError naming the field and the expected value, before anything touches the network.
//
// The reference for operators is docs/agent.md; keep the two in step.
import { z } from 'zod';
import { DEFAULT_IMDS_BASE_URL } from '../aws/imds.js';
import {
  DataplaneConfigError,
  DEFAULT_RP_FILTER,
  DEFAULT_TCP_ESTABLISHED_TIMEOUT_SEC,
  validateConfig,
  type ConntrackConfig,
  type RpFilter,
} from '../dataplane/config.js';
import { DEFAULT_RESYNC_MS } from '../controller/defaults.js';
import { DEFAULT_PLANNER_POLICY } from '../domain/planner/types.js';
import { requiredTargets, verdictPolicySchema } from '../domain/verdict/policy.js';
import { PEER_PORTS_EACH } from '../agent/peers.js';
import { awsNodeConfigSchema } from './aws-node-config.js';
import { loadConfigFile, parseConfigText } from './load-file.js';

export const AGENT_DEFAULTS = {
  probeIntervalMs: 200,
  probeTimeoutMs: 1_000,
  heartbeatPort: 9470,
  heartbeatIntervalMs: 100,
  heartbeatLostAfterMissed: 5,
  imdsPollIntervalMs: 2_000,
  leaseStore: 'dynamodb',
  leaseTable: 'natkeeper',
  leaseName: 'natkeeper',
  leaseTtlMs: 6_000,
  leaseRenewEveryMs: 2_000,
  peerRefreshMs: 30_000,
  peerTag: 'natkeeper:role=nat',
  httpListen: '127.0.0.1:9469',
  logLevel: 'info',
} as const;

/**
 * The default data-path targets: three operators (Cloudflare, Amazon, Google), so one
 * provider's outage is one target of three (short of the verdict policy's majority) and
 * never blames a node. TCP connects and an HTTP HEAD: no process spawns (an ICMP probe
 * runs `ping`). Google Public DNS answers DNS-over-HTTPS on 8.8.8.8:443. Only used when
 * `probe.targets` is absent.
 */
export const DEFAULT_PROBE_TARGETS = [
  { kind: 'tcp', host: '1.1.1.1', port: 443 },
  { kind: 'http', host: 'checkip.amazonaws.com', port: 80, path: '/' },
  { kind: 'tcp', host: '8.8.8.8', port: 443 },
] as const;

const int = (what = 'a whole number') => z.number({ error: `expected ${what}` }).int(`expected ${what}`);
const ms = (min: number, max: number) =>
  int('a whole number of milliseconds')
    .min(min, `expected at least ${min} ms`)
    .max(max, `expected at most ${max} ms`);
const port = () => int('a port number').min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535');
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
/** Host names and IPv4/IPv6 literals: no scheme, path, space or port. */
const host = () =>
  z
    .string({ error: 'expected a host name or IP address' })
    .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^[0-9A-Fa-f:.]+$/, {
      error: 'expected a host name or IP address (no scheme, port or path)',
    });
const targetName = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.:/-]{1,64}$/, { error: 'expected 1-64 of A-Z a-z 0-9 _ . : / - (it becomes a metric label)' })
    .optional();
const timeoutMs = () => ms(10, 60_000).default(AGENT_DEFAULTS.probeTimeoutMs);

const tcpTarget = z.strictObject({
  kind: z.literal('tcp'),
  /** Label in /status and metrics. Default "tcp:HOST:PORT". */
  name: targetName(),
  host: host(),
  port: port(),
  /** Per-probe timeout. Default 1000 ms. */
  timeoutMs: timeoutMs(),
});
const httpTarget = z.strictObject({
  kind: z.literal('http'),
  name: targetName(),
  host: host(),
  /** Default 80, or 443 with tls. */
  port: port().optional(),
  /** HTTPS instead of HTTP. Default false. */
  tls: z.boolean().default(false),
  /** Path of the HEAD request. Default "/". */
  path: z.string().startsWith('/', { error: 'expected a path starting with /' }).default('/'),
  timeoutMs: timeoutMs(),
});
const icmpTarget = z.strictObject({
  kind: z.literal('icmp'),
  name: targetName(),
  host: host(),
  timeoutMs: timeoutMs(),
});

const targetSchema = z
  .discriminatedUnion('kind', [tcpTarget, httpTarget, icmpTarget], { error: 'expected kind tcp, http or icmp' })
  .transform((t) => {
    if (t.kind === 'http') {
      const p = t.port ?? (t.tls ? 443 : 80);
      return { ...t, port: p, name: t.name ?? `http:${t.host}:${p}` };
    }
    if (t.kind === 'tcp') return { ...t, name: t.name ?? `tcp:${t.host}:${t.port}` };
    return { ...t, name: t.name ?? `icmp:${t.host}` };
  });

const probeSchema = z.strictObject({
  /** How often every target is probed from every vantage point. Default 200 ms. */
  intervalMs: ms(20, 60_000).default(AGENT_DEFAULTS.probeIntervalMs),
  /** Data-path targets. Default DEFAULT_PROBE_TARGETS (3 operators: tcp, http, tcp; no process spawns). */
  targets: z
    .array(targetSchema)
    .min(1, 'expected at least one probe target')
    .max(64, 'expected at most 64 probe targets')
    .prefault(() => DEFAULT_PROBE_TARGETS.map((t) => ({ ...t }))),
  /**
   * Where the `self` vantage probes from. namespace (default): a probe namespace behind a
   * veth pair, so probes cross this node's forwarding and masquerade like a private host's
   * (needs CAP_SYS_ADMIN to create it). local: the node's own sockets — they never cross
   * forwarding, so a NAT that stopped forwarding still passes its own probes.
   */
  selfVantage: z.enum(['namespace', 'local'], { error: 'expected namespace or local' }).default('namespace'),
  /** The probe namespace's name. Default natkeeper-self. */
  selfNamespace: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, { error: 'expected 1-64 of A-Z a-z 0-9 _ . -, not starting with . or -' }).default('natkeeper-self'),
});

const heartbeatSchema = z.strictObject({
  /** UDP port heartbeats are sent to and received on. Default 9470. */
  port: port().default(AGENT_DEFAULTS.heartbeatPort),
  /** Send interval. Default 100 ms. */
  intervalMs: ms(10, 60_000).default(AGENT_DEFAULTS.heartbeatIntervalMs),
  /** A peer is "lost" (a signal, never a verdict) after this many intervals without a heartbeat. Default 5. */
  lostAfterMissed: int().min(1, 'expected at least 1').max(1000, 'expected at most 1000').default(AGENT_DEFAULTS.heartbeatLostAfterMissed),
});

const staticPeer = z.strictObject({
  /** The peer's node id (instance id). */
  id: z.string().min(1, 'expected a node id'),
  /** Address heartbeats and peer-vantage probes go to. */
  address: z.ipv4({ error: 'expected an IPv4 address' }),
  /** Default: heartbeat.port. */
  heartbeatPort: port().optional(),
});
const peersSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({ mode: z.literal('static'), nodes: z.array(staticPeer).min(1, 'expected at least one peer') }),
    z.strictObject({
      mode: z.literal('discover'),
      /**
       * The tag, KEY=VALUE, that marks NAT instances: the other pending or running instances
       * in this VPC with it are the peers (all zones, so a zone with one NAT still has peers
       * to exchange heartbeats and results with). Default natkeeper:role=nat.
       */
      tag: z
        .string()
        .regex(/^[^=]{1,128}=.{0,256}$/, { error: 'expected KEY=VALUE, e.g. natkeeper:role=nat' })
        .default(AGENT_DEFAULTS.peerTag),
      /** How often the peer list is refreshed. Default 30 s. */
      refreshMs: ms(1_000, 3_600_000).default(AGENT_DEFAULTS.peerRefreshMs),
    }),
  ],
  { error: 'expected mode static or discover' },
);

const cidr = z.string({ error: 'expected an IPv4 CIDR like 10.0.0.0/16' });
const dataplaneInput = z.strictObject({
  /** Interfaces to masquerade on. Default: every ENI IMDS lists, resolved by MAC. */
  egressInterfaces: z.array(z.string()).min(1, 'expected at least one interface name').optional(),
  /** Destinations never masqueraded. Default: the VPC's CIDRs from IMDS. */
  excludeDestinations: z.array(cidr).optional(),
  conntrack: z
    .strictObject({
      max: int().optional(),
      tcpEstablishedTimeoutSec: int().optional(),
      udpTimeoutSec: int().optional(),
      udpStreamTimeoutSec: int().optional(),
    })
    .optional(),
  /** off | strict | loose. Default loose. */
  rpFilter: z.string().optional(),
});

/** The data plane section, validated by src/dataplane/config.ts's own rules. */
export interface AgentDataplaneConfig {
  /** Absent: resolved from IMDS by MAC at start. */
  egressInterfaces?: string[];
  /** Absent: the VPC's CIDRs from IMDS. */
  excludeDestinations?: string[];
  conntrack: ConntrackConfig;
  rpFilter: RpFilter;
}

/** "conntrack.max" / "egressInterfaces[1]" → zod path segments. */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/\.|(?=\[)/)
    .map((s) => (/^\[\d+\]$/.test(s) ? Number(s.slice(1, -1)) : s))
    .filter((s) => s !== '');
}

const dataplaneSchema = dataplaneInput.transform((d, ctx): AgentDataplaneConfig => {
  try {
    // validateConfig needs an interface; a placeholder checks every other field when
    // the interfaces will only be known from IMDS.
    const v = validateConfig({ ...d, egressInterfaces: d.egressInterfaces ?? ['placeholder0'] });
    return {
      ...(d.egressInterfaces ? { egressInterfaces: v.egressInterfaces } : {}),
      ...(d.excludeDestinations ? { excludeDestinations: v.excludeDestinations } : {}),
      conntrack: v.conntrack,
      rpFilter: v.rpFilter,
    };
  } catch (err) {
    if (!(err instanceof DataplaneConfigError)) throw err;
    ctx.addIssue({ code: 'custom', path: fieldPath(err.field), message: err.message.slice(err.field.length + 2) });
    return z.NEVER;
  }
});

/** A lease's name; the CDK construct's clusterName is the lease name, so it follows the same rule. */
export const LEASE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

const leaseSchema = z
  .strictObject({
    /** dynamodb | etcd. Default dynamodb. */
    store: z.enum(['dynamodb', 'etcd'], { error: 'expected dynamodb or etcd' }).default(AGENT_DEFAULTS.leaseStore),
    /** dynamodb: the table (created by the CDK construct). Default "natkeeper". */
    table: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, { error: 'expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)' }).optional(),
    /** etcd: client URL, e.g. http://10.0.1.10:2379. Required with store etcd. */
    endpoint: httpUrl().optional(),
    /** The lease's name: one table or etcd can hold several. Default "natkeeper". */
    name: z.string().regex(LEASE_NAME_PATTERN, { error: 'expected 1-128 of A-Z a-z 0-9 _ . -' }).default(AGENT_DEFAULTS.leaseName),
    /** How long a lease lasts without renewal. Default 6000 ms. */
    ttlMs: ms(1_000, 86_400_000).default(AGENT_DEFAULTS.leaseTtlMs),
    /** How often the holder renews; must be less than ttlMs / 2. Default 2000 ms. */
    renewEveryMs: ms(100, 43_200_000).default(AGENT_DEFAULTS.leaseRenewEveryMs),
  })
  .superRefine((l, ctx) => {
    if (l.renewEveryMs * 2 >= l.ttlMs)
      ctx.addIssue({
        code: 'custom',
        path: ['renewEveryMs'],
        message: `expected less than ttlMs / 2 (< ${l.ttlMs / 2} ms), got ${l.renewEveryMs}`,
      });
    if (l.store === 'etcd' && l.endpoint === undefined)
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'expected an etcd client URL (required with store etcd)' });
    if (l.store === 'etcd' && l.table !== undefined)
      ctx.addIssue({ code: 'custom', path: ['table'], message: 'expected no table with store etcd (table is for dynamodb)' });
    if (l.store === 'dynamodb' && l.endpoint !== undefined)
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'expected no endpoint with store dynamodb (use endpoints.dynamodb)' });
  })
  .transform((l) => (l.store === 'dynamodb' ? { ...l, table: l.table ?? AGENT_DEFAULTS.leaseTable } : l));

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:9469", "[::1]:9469", "0.0.0.0:0" → host and port; undefined when malformed. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|[A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const p = Number(m[3]);
  if (p > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port: p };
}

const natGatewayId = z.string().regex(/^nat-[0-9a-f]{8,17}$/, { error: 'expected a NAT Gateway id like nat-0123456789abcdef0' });
const controllerSchema = z.strictObject({
  /** The VPC to manage. Default: this instance's (IMDS); set it to run natkeeper status/plan/history off an instance. */
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: 'expected a VPC id like vpc-0123456789abcdef0' }).optional(),
  /** Run the controller in this agent while it holds the lease. Default true. */
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  /** Zones to manage (natkeeper:zone tag values). Default: every zone found by tag. */
  zones: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected a zone name (1-64 of A-Z a-z 0-9 _ . -)' })).min(1, 'expected at least one zone (or leave zones out: every tagged zone)').optional(),
  /** A zone-local NAT must stay healthy this long before egress returns to it. Default 60000 ms. */
  failbackAfterMs: ms(0, 86_400_000).default(DEFAULT_PLANNER_POLICY.failbackAfterMs),
  /** Anti-flap: at most this many transitions per zone within transitionWindowMs. Default 4. */
  maxTransitions: int().min(1, 'expected at least 1').max(1000, 'expected at most 1000').default(DEFAULT_PLANNER_POLICY.maxTransitions),
  /** Default 600000 ms (10 min). */
  transitionWindowMs: ms(1_000, 86_400_000).default(DEFAULT_PLANNER_POLICY.transitionWindowMs),
  /** Re-associate a failed zone's subnets with a healthy zone's table instead of replacing routes. Default false. */
  associationSwap: z.boolean({ error: 'expected true or false' }).default(DEFAULT_PLANNER_POLICY.associationSwap),
  /** Per zone, a managed NAT Gateway of last resort, e.g. { a: nat-0123… }. Default none. */
  fallbackNatGatewayIds: z.record(z.string(), natGatewayId).optional(),
  /** Full resync interval (events and verdict changes wake the loop at once). Default 10000 ms. */
  resyncMs: ms(1_000, 3_600_000).default(DEFAULT_RESYNC_MS),
});

const httpSchema = z.strictObject({
  /** host:port of /healthz, /status, /metrics. Default 127.0.0.1:9469 (loopback only). */
  listen: z
    .string({ error: 'expected host:port like 127.0.0.1:9469 or [::1]:9469 (a string)' })
    .default(AGENT_DEFAULTS.httpListen)
    .transform((s, ctx) => {
      const a = parseListenAddress(s);
      if (a) return { address: s, ...a };
      ctx.addIssue({ code: 'custom', message: `expected host:port like 127.0.0.1:9469 or [::1]:9469, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }),
});

export const agentConfigSchema = z
  .strictObject({
    /** This node's identity. Default: from IMDS (instance id and availability zone). */
    node: z
      .strictObject({
        id: z.string().min(1, 'expected a node id').optional(),
        zone: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: 'expected an availability zone like eu-west-1a' }).optional(),
      })
      .prefault({}),
    /** AWS region. Default: from IMDS. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected a region like eu-west-1' }).optional(),
    /** API endpoint overrides (the lab). Default: the SDK's regional endpoints. */
    endpoints: z.strictObject({ ec2: httpUrl().optional(), autoscaling: httpUrl().optional(), dynamodb: httpUrl().optional() }).prefault({}),
    probe: probeSchema.prefault({}),
    heartbeat: heartbeatSchema.prefault({}),
    /** Default: discovered, the instances of this VPC tagged natkeeper:role=nat. */
    peers: peersSchema.prefault({ mode: 'discover' }),
    /** The verdict policy (src/domain/verdict/policy.ts); every field has its default. */
    verdict: verdictPolicySchema.prefault({}),
    dataplane: dataplaneSchema.prefault({}),
    /** What the agent does to its own instance through the EC2 API (src/config/aws-node-config.ts). */
    ec2: awsNodeConfigSchema.prefault({}),
    imds: z
      .strictObject({
        /** Default http://169.254.169.254. */
        baseUrl: httpUrl().default(DEFAULT_IMDS_BASE_URL),
        /** Spot / rebalance notice poll interval. Default 2000 ms. */
        pollIntervalMs: ms(100, 600_000).default(AGENT_DEFAULTS.imdsPollIntervalMs),
      })
      .prefault({}),
    lease: leaseSchema.prefault({}),
    handover: z
      .strictObject({
        /**
         * After a planned handover notice (SIGTERM, Spot, rebalance, lifecycle), how long the
         * node waits for egress to move away before it stops. Keep it below systemd's
         * TimeoutStopSec (30 s in packaging/). Default 20000 ms.
         */
        drainTimeoutMs: ms(0, 600_000).default(20_000),
      })
      .prefault({}),
    /** The failover controller, run by the lease holder (src/controller). */
    controller: controllerSchema.prefault({}),
    http: httpSchema.prefault({}),
    log: z
      .strictObject({
        /** debug | info | warn | error. Default info. */
        level: z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' }).default(AGENT_DEFAULTS.logLevel),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.probe.targets.forEach((t, i) => {
      const first = seen.get(t.name);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['probe', 'targets', i, 'name'], message: `expected a unique name, "${t.name}" is also targets[${first}]` });
      else seen.set(t.name, i);
      // Probes overlap (one per interval, each with its own timeout); a peer-vantage target
      // takes a source port per probe in flight from its 50-port range (src/agent/peers.ts).
      const inFlight = Math.ceil(t.timeoutMs / c.probe.intervalMs) + 1;
      if (inFlight > PEER_PORTS_EACH)
        ctx.addIssue({
          code: 'custom',
          path: ['probe', 'targets', i, 'timeoutMs'],
          message: `expected at most ${(PEER_PORTS_EACH - 1) * c.probe.intervalMs} ms at probe.intervalMs ${c.probe.intervalMs} (${inFlight} probes would be in flight, more than the ${PEER_PORTS_EACH} source ports a target has)`,
        });
      if (t.timeoutMs >= c.verdict.staleAfterMs)
        ctx.addIssue({
          code: 'custom',
          path: ['probe', 'targets', i, 'timeoutMs'],
          message: `expected less than verdict.staleAfterMs (${c.verdict.staleAfterMs} ms), got ${t.timeoutMs}`,
        });
    });
    const needed = requiredTargets(c.verdict, c.probe.targets.length);
    if (needed > c.probe.targets.length)
      ctx.addIssue({
        code: 'custom',
        path: ['verdict', 'failingTargets'],
        message: `expected at most the number of probe targets (${c.probe.targets.length}), got ${needed}`,
      });
    if (c.peers.mode === 'static') {
      if (c.verdict.minVantages > c.peers.nodes.length + 1)
        ctx.addIssue({
          code: 'custom',
          path: ['verdict', 'minVantages'],
          message: `expected at most 1 + the number of static peers (${c.peers.nodes.length + 1}), got ${c.verdict.minVantages}: the node could never be found unhealthy`,
        });
      const ids = new Set<string>();
      c.peers.nodes.forEach((p, i) => {
        if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['peers', 'nodes', i, 'id'], message: `expected a unique peer id, got "${p.id}" twice` });
        ids.add(p.id);
        if (c.node.id !== undefined && p.id === c.node.id)
          ctx.addIssue({ code: 'custom', path: ['peers', 'nodes', i, 'id'], message: `expected another node, "${p.id}" is node.id` });
      });
    }
  });

/** A validated config with every default filled in. */
export type AgentConfig = z.output<typeof agentConfigSchema>;
/** What a config file may say. */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type ProbeTargetConfig = AgentConfig['probe']['targets'][number];

/** Read and validate a YAML or JSON file; throws ConfigError naming each bad field. No network. */
export function loadAgentConfig(path: string): AgentConfig {
  return loadConfigFile(agentConfigSchema, path);
}

export function parseAgentConfig(text: string, source = 'config'): AgentConfig {
  return parseConfigText(agentConfigSchema, text, source);
}

export { DEFAULT_RP_FILTER, DEFAULT_TCP_ESTABLISHED_TIMEOUT_SEC };
