// The EC2 side of a node's setup, run before the kernel setup: attach the zone's
// floating ENI when this node is told to carry it (so its interface exists when the data
// plane resolves interfaces) — only if no other instance holds it: taking it from a
// working NAT is a failover, decided by the lease holder, never by a booting node — then turn the source/dest check off on every ENI, the
// floating one included. Both steps are idempotent; a failure fails the setup attempt,
// which the supervisor retries.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { disableSourceDestCheck, ensureFloatingEni } from '../aws/node-setup.js';
import type { AwsNodeConfig } from '../config/aws-node-config.js';
import type { Logger } from '../telemetry/logger.js';

export interface Ec2PrepareOptions {
  ec2: Pick<EC2Client, 'send'>;
  instanceId: string;
  config: AwsNodeConfig;
  logger: Logger;
}

export function ec2Prepare(opts: Ec2PrepareOptions): () => Promise<void> {
  const { config: c, logger: log } = opts;
  const waits = { attachTimeoutMs: c.attachTimeoutMs, pollIntervalMs: c.attachPollIntervalMs, log };
  return async () => {
    if (c.floatingEni?.carry) {
      const r = await ensureFloatingEni(opts.ec2, opts.instanceId, { ...waits, eniId: c.floatingEni.id, deviceIndex: c.floatingEni.deviceIndex, ifAttachedElsewhere: 'leave' });
      log.info('floating_eni', { ...r });
    }
    if (c.sourceDestCheck === 'disable') {
      const r = await disableSourceDestCheck(opts.ec2, opts.instanceId, waits);
      if (r.changed.length) log.info('source_dest_check_disabled', { ...r });
    }
  };
}
