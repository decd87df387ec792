// The lab topology file: which VPC to emulate and how real it should feel.
// Every field has a default, so an empty file (or none) gives the default lab:
// one VPC, 3 zones, 2 NATs in zone a and 1 in b and c, one floating ENI + EIP per zone.

import { z } from 'zod';

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'expected an IPv4 address like 198.51.100.10');
const cidr = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/, 'expected an IPv4 CIDR like 10.0.0.0/16');

const bucket = z
  .object({
    burst: z.number().int().positive(),
    refillPerSecond: z.number().positive(),
  })
  .strict();

export const zoneSchema = z
  .object({
    /** AZ suffix: "a" becomes us-east-1a. */
    name: z.string().regex(/^[a-z]$/, 'expected one lowercase letter, the AZ suffix'),
    publicSubnet: cidr,
    privateSubnets: z.array(cidr).min(1),
    natInstances: z.number().int().min(0).max(8).default(1),
    appHostsPerPrivateSubnet: z.number().int().min(0).max(8).default(1),
    /** Extra private route tables (unassociated, default route to the zone's NAT): for scale tests. */
    extraPrivateRouteTables: z.number().int().min(0).max(1000).default(0),
    floatingEni: z.boolean().default(true),
  })
  .strict();

export const topologySchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}-[a-z]+-\d$/, 'expected a region like us-east-1').default('us-east-1'),
    vpcCidr: cidr.default('10.0.0.0/16'),
    /** Seed for resource IDs: the same seed gives the same IDs. */
    seed: z.number().int().nonnegative().default(1),
    zones: z
      .array(zoneSchema)
      .min(1)
      .max(6)
      .default([
        { name: 'a', publicSubnet: '10.0.0.0/24', privateSubnets: ['10.0.100.0/24'], natInstances: 2, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
        { name: 'b', publicSubnet: '10.0.1.0/24', privateSubnets: ['10.0.101.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
        { name: 'c', publicSubnet: '10.0.2.0/24', privateSubnets: ['10.0.102.0/24'], natInstances: 1, appHostsPerPrivateSubnet: 1, extraPrivateRouteTables: 0, floatingEni: true },
      ]),
    internet: z
      .object({
        /** Echo servers (UDP and TCP) that answer with the source address they saw. */
        echoTargets: z.array(ipv4).min(1).default(['198.51.100.10', '198.51.100.11', '203.0.113.10']),
        echoPort: z.number().int().min(1).max(65535).default(7),
        /** Where EIPs come from. Must not overlap the echo targets. */
        eipPool: cidr.default('203.0.113.128/25'),
      })
      .strict()
      .prefault({}),
    autoScaling: z
      .object({
        /** How long a group waits before replacing a failed instance (AWS: tens of seconds). */
        replacementDelayMs: z.number().int().min(0).default(10_000),
        healthCheckGracePeriodSeconds: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    realism: z
      .object({
        /** Latency added to every mutating call before it answers. */
        mutatingLatencyMs: z.number().min(0).default(150),
        /** Latency added to every non-mutating call. */
        describeLatencyMs: z.number().min(0).default(0),
        /** Assumptions: AWS publishes no figures for these. */
        eniAttachMs: z.number().int().min(0).default(2000),
        eniDetachMs: z.number().int().min(0).default(1000),
        instanceStartMs: z.number().int().min(0).default(1000),
        instanceStopMs: z.number().int().min(0).default(1000),
        instanceTerminateMs: z.number().int().min(0).default(1000),
        /** A hard-killed instance's EC2 state follows (to stopped) after this long. */
        killStateDelayMs: z.number().int().min(0).default(3000),
        consistencyDelayMs: z.number().int().min(0).default(0),
        /** Fraction of calls answered with an injected InternalError (0..1). */
        errorRate: z.number().min(0).max(1).default(0),
        throttling: z
          .object({
            enabled: z.boolean().default(true),
            // EC2's documented request token buckets (per account, per region).
            mutating: bucket.default({ burst: 50, refillPerSecond: 5 }),
            nonMutating: bucket.default({ burst: 100, refillPerSecond: 20 }),
            unfilteredDescribe: bucket.default({ burst: 50, refillPerSecond: 10 }),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Topology = z.infer<typeof topologySchema>;
export type ZoneSpec = z.infer<typeof zoneSchema>;
