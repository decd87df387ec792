// The `ec2` section of the agent's config file: what the agent does to its own
// instance through the EC2 API at boot (src/aws/node-setup.ts). Every field is
// optional; the defaults are documented on each field and in AWS_NODE_DEFAULTS.
//
// Plugged into agentConfigSchema as `ec2: awsNodeConfigSchema.prefault({})`.
import { z } from 'zod';

// The same figures as NODE_SETUP_DEFAULTS in src/aws/node-setup.ts (a unit test holds them
// equal): not imported, so that validating a config file does not load the EC2 SDK.
export const AWS_NODE_DEFAULTS = {
  sourceDestCheck: 'disable',
  floatingEniCarry: false,
  deviceIndex: 1,
  attachTimeoutMs: 60_000,
  attachPollIntervalMs: 500,
} as const;

const int = (what: string) => z.number({ error: `expected ${what}` }).int(`expected ${what}`);
const ms = (min: number, max: number) =>
  int('a whole number of milliseconds').min(min, `expected at least ${min} ms`).max(max, `expected at most ${max} ms`);

const floatingEniSchema = z.strictObject({
  /** The zone's floating ENI (route tables target it; it carries the zone's EIP). Required in this block. */
  id: z.string({ error: 'expected an ENI id like eni-0123456789abcdef0' }).regex(/^eni-[0-9a-f]{8,17}$/, {
    error: 'expected an ENI id like eni-0123456789abcdef0 (eni- and 8 to 17 hex digits)',
  }),
  /** Attach it to this node at boot (taking it from another instance if needed). Default false. */
  carry: z.boolean({ error: 'expected true or false' }).default(AWS_NODE_DEFAULTS.floatingEniCarry),
  /** Device index to attach it at; 0 is the primary ENI. Default 1. */
  deviceIndex: int('a device index from 1 to 15')
    .min(1, 'expected a device index from 1 to 15 (0 is the primary ENI)')
    .max(15, 'expected a device index from 1 to 15')
    .default(AWS_NODE_DEFAULTS.deviceIndex),
});

export const awsNodeConfigSchema = z.strictObject({
  /**
   * disable: turn the source/destination check off on every ENI of this instance (a NAT
   * must, or EC2 drops forwarded packets). leave: touch nothing (the launch template or
   * CDK construct does it). Default disable.
   */
  sourceDestCheck: z.enum(['disable', 'leave'], { error: 'expected disable or leave' }).default(AWS_NODE_DEFAULTS.sourceDestCheck),
  /** The zone's floating ENI. Default: none. */
  floatingEni: floatingEniSchema.optional(),
  /** Upper bound on each wait for an ENI detach or attach to take effect. Default 60000 ms. */
  attachTimeoutMs: ms(1_000, 600_000).default(AWS_NODE_DEFAULTS.attachTimeoutMs),
  /** How often the ENI is described while waiting. Default 500 ms. */
  attachPollIntervalMs: ms(50, 60_000).default(AWS_NODE_DEFAULTS.attachPollIntervalMs),
});

/** The validated `ec2` section, defaults filled in. */
export type AwsNodeConfig = z.output<typeof awsNodeConfigSchema>;
/** What the `ec2` section of a config file may say. */
export type AwsNodeConfigInput = z.input<typeof awsNodeConfigSchema>;
