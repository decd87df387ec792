// The construct's props, their defaults, and the checks that run at synth time. Every
// bad prop fails `cdk synth` with an Error that names it ("NatKeeper: nodesPerZone must
// be ..."), before anything is deployed. Agent settings (probe targets, failback, NAT
// Gateway ids) are checked by the agent's own schema (src/config/agent-config.ts), so the
// construct accepts exactly what a NAT node will accept at boot.
import { Duration, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { agentConfigSchema, LEASE_NAME_PATTERN, type AgentConfigInput } from '../../src/config/agent-config.js';
import { DEFAULT_PLANNER_POLICY } from '../../src/domain/planner/index.js';

/** One data-path probe target, as in the agent config's `probe.targets` (docs/agent.md). */
export type NatKeeperProbeTarget = NonNullable<NonNullable<AgentConfigInput['probe']>['targets']>[number];

/** Where the lease lives. */
export interface NatKeeperLeaseStoreOptions {
  /**
   * An existing DynamoDB table with partition key `pk` (string) and sort key `sk`
   * (string), as src/lease/dynamodb.ts expects. Several clusters may share one table:
   * each uses its clusterName as the lease name.
   *
   * @default a new table: on-demand billing, point-in-time recovery, retained on stack deletion
   */
  readonly table?: dynamodb.ITable;
}

/** The props NatKeeper and NatKeeperProvider share. */
export interface NatKeeperOptions {
  /**
   * Instance type of the NAT nodes. Graviton (arm64) types get the arm64 Amazon Linux 2023
   * image, x86_64 types the x86_64 one.
   *
   * @default t4g.nano
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * NAT nodes per zone, each zone an Auto Scaling group with min = max = desired = this.
   * Integer from 1 to 10.
   *
   * @default 2 (one carrying the zone's egress, one standby)
   */
  readonly nodesPerZone?: number;
  /**
   * Run the NAT nodes on Spot capacity (launch template market options). Needs
   * nodesPerZone of at least 2: an interrupted node must have a standby to hand over to.
   *
   * @default false
   */
  readonly spot?: boolean;
  /**
   * Per zone (AZ name), a NAT Gateway of last resort (`nat-…`): the controller routes the
   * zone's egress there when no NAT node anywhere can carry it.
   *
   * @default none
   */
  readonly fallbackNatGatewayIds?: Record<string, string>;
  /**
   * The agents' data-path probe targets (the agent config's probe.targets; names unique).
   *
   * @default the agent's defaults: tcp 1.1.1.1:443, http checkip.amazonaws.com:80, tcp 8.8.8.8:443 (DEFAULT_PROBE_TARGETS)
   */
  readonly probeTargets?: NatKeeperProbeTarget[];
  /**
   * How long a zone's own NAT must stay healthy before egress returns to it. From 0 to 24 hours.
   *
   * @default Duration.seconds(60)
   */
  readonly failbackAfter?: Duration;
  /**
   * The lease store.
   *
   * @default a new DynamoDB table: on-demand, point-in-time recovery, retained on stack deletion
   */
  readonly leaseStore?: NatKeeperLeaseStoreOptions;
  /**
   * Where the alarms (no lease holder, zone without egress, repeated failovers) and the Auto
   * Scaling notifications go. A topic of your own must let them publish: its policy must
   * allow sns:Publish to cloudwatch.amazonaws.com (a custom topic policy replaces SNS's
   * default), and a KMS key encrypting it must let cloudwatch.amazonaws.com and the Auto
   * Scaling service-linked role use it (kms:Decrypt, kms:GenerateDataKey*).
   *
   * @default a new SNS topic encrypted with a new KMS key, refusing non-TLS publishers
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The value of the natkeeper:cluster tag on everything the construct creates (the IAM
   * policies require it on every resource they change) and the lease's name. 1-128 of
   * A-Z a-z 0-9 _ . - ; unique per account and region.
   *
   * @default a unique name derived from the construct path
   */
  readonly clusterName?: string;
}

/** Props of NatKeeper: natkeeper for a VPC that exists (created in the app or imported). */
export interface NatKeeperProps extends NatKeeperOptions {
  /** The VPC: a public subnet per zone for the NAT nodes, private route tables to serve. */
  readonly vpc: ec2.IVpc;
  /**
   * The availability zones to serve.
   *
   * @default every AZ of the VPC with both a public and a private-with-egress subnet
   */
  readonly zones?: string[];
  /**
   * Per zone, the ids of the route tables whose 0.0.0.0/0 route natkeeper manages: for VPCs
   * this app did not create. The construct adds the default route to the zone's floating
   * ENI (so the tables must not have one yet) and tags them natkeeper:zone and
   * natkeeper:cluster through the EC2 API.
   *
   * @default the route tables of the VPC's private-with-egress subnets in each zone
   */
  readonly routeTables?: Record<string, string[]>;
}

/** Props of NatKeeperProvider: the zones are the VPC's NAT subnets (natGateways, natGatewaySubnets). */
export type NatKeeperProviderProps = NatKeeperOptions;

/** The options with defaults filled in and checked. */
export interface ResolvedOptions {
  readonly instanceType: ec2.InstanceType;
  readonly nodesPerZone: number;
  readonly spot: boolean;
  readonly fallbackNatGatewayIds: Readonly<Record<string, string>>;
  readonly probeTargets: NatKeeperProbeTarget[] | undefined;
  readonly failbackAfterMs: number;
  readonly leaseTable: dynamodb.ITable | undefined;
  readonly alarmTopic: sns.ITopic | undefined;
  readonly clusterName: string | undefined;
}

export const NATKEEPER_DEFAULTS = {
  instanceType: 't4g.nano',
  nodesPerZone: 2,
  maxNodesPerZone: 10,
  failbackAfterMs: DEFAULT_PLANNER_POLICY.failbackAfterMs,
} as const;

/** Who reports the error: the construct the user wrote. */
export type Reporter = 'NatKeeper' | 'NatKeeperProvider';

export function invalid(who: Reporter, message: string): Error {
  return new Error(`${who}: ${message}`);
}

/** Agent-schema paths → the prop that set them. */
function propOf(path: readonly PropertyKey[]): string {
  const [section, field, ...rest] = path.map(String);
  const tail = rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  if (section === 'probe' && field === 'targets') return `probeTargets${tail}`;
  if (section === 'controller' && field === 'failbackAfterMs') return 'failbackAfter';
  if (section === 'controller' && field === 'fallbackNatGatewayIds') return `fallbackNatGatewayIds${rest.length ? `.${rest.join('.')}` : ''}`;
  return path.map(String).join('.');
}

/** Checks the props that do not depend on the VPC's zones; fills in defaults. */
export function resolveOptions(who: Reporter, o: NatKeeperOptions): ResolvedOptions {
  const nodesPerZone = o.nodesPerZone ?? NATKEEPER_DEFAULTS.nodesPerZone;
  if (!Number.isInteger(nodesPerZone) || nodesPerZone < 1 || nodesPerZone > NATKEEPER_DEFAULTS.maxNodesPerZone)
    throw invalid(who, `nodesPerZone must be an integer from 1 to ${NATKEEPER_DEFAULTS.maxNodesPerZone}, got ${nodesPerZone}`);
  const spot = o.spot ?? false;
  if (spot && nodesPerZone < 2)
    throw invalid(who, `spot needs nodesPerZone of at least 2 (a standby to hand over to when a Spot node is interrupted), got nodesPerZone ${nodesPerZone}`);
  if (o.clusterName !== undefined && (Token.isUnresolved(o.clusterName) || !LEASE_NAME_PATTERN.test(o.clusterName)))
    throw invalid(who, `clusterName must be 1-128 of A-Z a-z 0-9 _ . - (a literal: it names the lease and tags every resource), got ${JSON.stringify(o.clusterName)}`);
  const failbackAfter = o.failbackAfter ?? Duration.millis(NATKEEPER_DEFAULTS.failbackAfterMs);
  if (failbackAfter.isUnresolved()) throw invalid(who, 'failbackAfter must be a literal duration, not a token');
  const failbackAfterMs = failbackAfter.toMilliseconds();
  const fallbackNatGatewayIds = o.fallbackNatGatewayIds ?? {};
  for (const [zone, id] of Object.entries(fallbackNatGatewayIds))
    if (Token.isUnresolved(zone) || Token.isUnresolved(id)) throw invalid(who, `fallbackNatGatewayIds must be literal zone names and NAT Gateway ids, got a token for ${zone}`);

  // The agent's schema decides what a NAT node accepts; run the user's values through it.
  const parsed = agentConfigSchema.safeParse({
    ...(o.probeTargets ? { probe: { targets: o.probeTargets } } : {}),
    controller: { failbackAfterMs, ...(Object.keys(fallbackNatGatewayIds).length ? { fallbackNatGatewayIds } : {}) },
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const got = issue.path[0] === 'controller' && issue.path[1] === 'failbackAfterMs' ? ` (got ${failbackAfterMs} ms)` : '';
    throw invalid(who, `${propOf(issue.path)}: ${issue.message}${got}`);
  }
  return {
    instanceType: o.instanceType ?? new ec2.InstanceType(NATKEEPER_DEFAULTS.instanceType),
    nodesPerZone,
    spot,
    fallbackNatGatewayIds,
    probeTargets: o.probeTargets,
    failbackAfterMs,
    leaseTable: o.leaseStore?.table,
    alarmTopic: o.alarmTopic,
    clusterName: o.clusterName,
  };
}

/** Every key of a per-zone record must be a served zone. */
export function checkZoneKeys(who: Reporter, prop: string, record: Readonly<Record<string, unknown>>, zones: readonly string[]): void {
  for (const key of Object.keys(record))
    if (!zones.includes(key)) throw invalid(who, `${prop} has zone "${key}", which is not a served zone (${zones.join(', ') || 'none'})`);
}
