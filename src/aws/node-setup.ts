// The EC2 side of a NAT node's setup, run by the agent at boot:
//
// - disableSourceDestCheck: SourceDestCheck=false on every ENI attached to the
//   instance, one ModifyNetworkInterfaceAttribute per ENI that still has it on.
//   Not ModifyInstanceAttribute: AWS refuses that on an instance with several ENIs,
//   and a NAT carrying its zone's floating ENI has two.
// - ensureFloatingEni: the zone's floating ENI attached to this instance, taking it
//   (forced detach) from another instance when needed.
//
// Both are idempotent: they describe first and mutate only what differs, so a
// re-run on a set-up node makes no mutating call. API calls are retried with
// backoff on throttling and server errors; waits poll until a bounded timeout.

import {
  AttachNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type EC2Client,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../lease/clock.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { withAwsRetry, type AwsRetryOptions } from './retry.js';

export const NODE_SETUP_DEFAULTS = {
  deviceIndex: 1,
  attachTimeoutMs: 60_000,
  pollIntervalMs: 500,
} as const;

export interface NodeSetupOptions {
  /** Retries of throttled / failed calls (defaults as in lifecycle.ts: 6 retries, 200 ms doubling to 5 s). */
  retry?: AwsRetryOptions;
  /** Upper bound on each wait for an attachment state (default 60 s). */
  attachTimeoutMs?: number;
  /** Describe interval while waiting (default 500 ms). */
  pollIntervalMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  log?: Logger;
}

export interface FloatingEniOptions extends NodeSetupOptions {
  eniId: string;
  /** Device index to attach at (default 1). */
  deviceIndex?: number;
  /**
   * When another instance holds the ENI: 'move' takes it (force-detach, attach here);
   * 'leave' does nothing and says who holds it. A node at boot must leave: moving it away
   * from a working NAT is a failover decision, the lease holder's alone. Default 'move'.
   */
  ifAttachedElsewhere?: 'move' | 'leave';
}

export interface SourceDestCheckResult {
  /** ENIs whose check was on and was turned off. */
  changed: string[];
  /** ENIs whose check was already off. */
  unchanged: string[];
}

export type FloatingEniResult =
  /** Already attached (or attaching) here: no mutating call was made. */
  | { action: 'already-attached'; eniId: string; deviceIndex: number | undefined }
  /** Was available (or detaching from this instance): attached. */
  | { action: 'attached'; eniId: string; deviceIndex: number }
  /** Attached to another instance and left there (ifAttachedElsewhere 'leave'). */
  | { action: 'held-elsewhere'; eniId: string; attachedTo: string }
  /** Was attached to another instance: force-detached from it, then attached here. */
  | { action: 'moved'; eniId: string; deviceIndex: number; fromInstance: string };

/** A setup step that cannot complete; names the ENI and, for waits, the state it was stuck in. */
export class NodeSetupError extends Error {
  constructor(
    message: string,
    readonly eniId?: string,
    readonly state?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'NodeSetupError';
  }
}

type Ec2 = Pick<EC2Client, 'send'>;

/** Turns the source/destination check off on every ENI attached to instanceId. */
export async function disableSourceDestCheck(ec2: Ec2, instanceId: string, opts: NodeSetupOptions = {}): Promise<SourceDestCheckResult> {
  const log = opts.log ?? silentLogger;
  const enis: NetworkInterface[] = [];
  let NextToken: string | undefined;
  do {
    const page = await call(opts, () =>
      ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }], NextToken })),
    );
    enis.push(...(page.NetworkInterfaces ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  // Every instance has a primary ENI: none means a wrong id, not "nothing to do".
  if (enis.length === 0) throw new NodeSetupError(`no network interface is attached to ${instanceId}: is the instance id right?`);

  const result: SourceDestCheckResult = { changed: [], unchanged: [] };
  for (const eni of enis) {
    const id = eni.NetworkInterfaceId!;
    if (eni.SourceDestCheck === false) {
      result.unchanged.push(id);
      continue;
    }
    await call(opts, () => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, SourceDestCheck: { Value: false } })));
    log.info('ec2.source-dest-check-disabled', { node: instanceId, eni: id });
    result.changed.push(id);
  }
  return result;
}

/** Makes the floating ENI attached to instanceId at deviceIndex, moving it from another instance if needed. */
export async function ensureFloatingEni(ec2: Ec2, instanceId: string, opts: FloatingEniOptions): Promise<FloatingEniResult> {
  const { eniId } = opts;
  const deviceIndex = opts.deviceIndex ?? NODE_SETUP_DEFAULTS.deviceIndex;
  const log = (opts.log ?? silentLogger).child({ node: instanceId, eni: eniId });
  const attachedHere = (e: NetworkInterface) => e.Attachment?.InstanceId === instanceId && e.Attachment.Status === 'attached';
  const att = (await describeEni(ec2, eniId, opts)).Attachment;

  if (att?.InstanceId === instanceId && (att.Status === 'attached' || att.Status === 'attaching')) {
    if (att.Status === 'attaching') await waitForEni(ec2, eniId, opts, 'attached', attachedHere);
    return { action: 'already-attached', eniId, deviceIndex: att.DeviceIndex };
  }

  let fromInstance: string | undefined;
  if (att?.InstanceId !== undefined && att.InstanceId !== instanceId && opts.ifAttachedElsewhere === 'leave') {
    return { action: 'held-elsewhere', eniId, attachedTo: att.InstanceId };
  }
  if (att?.InstanceId !== undefined && att.InstanceId !== instanceId) {
    fromInstance = att.InstanceId;
    const attachmentId = att.AttachmentId;
    // Forced: the other instance may be dead or hung, and a plain detach from a dead
    // instance can hang in 'detaching'.
    try {
      await call(opts, () => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId, Force: true })));
    } catch (err) {
      // Gone since the describe (its instance terminated, or a retry after a lost answer): the wait below decides.
      if ((err as { name?: string }).name !== 'InvalidAttachmentID.NotFound') throw err;
    }
    log.info('ec2.floating-eni-detached', { fromInstance });
  }
  // Detached from elsewhere just now, or still detaching from this instance (a previous run's leftovers).
  if (att !== undefined) await waitForEni(ec2, eniId, opts, 'available', (e) => e.Status === 'available' && e.Attachment === undefined);

  try {
    await call(opts, () => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: deviceIndex })));
  } catch (err) {
    // A retry whose first attempt went through answers InUse: fine if it is in use here.
    const mine = (err as { name?: string }).name === 'InvalidNetworkInterface.InUse' && (await describeEni(ec2, eniId, opts)).Attachment?.InstanceId === instanceId;
    if (!mine) throw err;
  }
  await waitForEni(ec2, eniId, opts, 'attached', attachedHere);
  log.info('ec2.floating-eni-attached', { deviceIndex, ...(fromInstance ? { fromInstance } : {}) });
  return fromInstance ? { action: 'moved', eniId, deviceIndex, fromInstance } : { action: 'attached', eniId, deviceIndex };
}

// ---- internals ------------------------------------------------------------------

/** The ENI as EC2 describes it (retried); a NodeSetupError naming it when it does not exist. */
export async function describeEni(ec2: Ec2, eniId: string, opts: NodeSetupOptions = {}): Promise<NetworkInterface> {
  let out;
  try {
    out = await call(opts, () => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })));
  } catch (err) {
    const code = (err as { name?: string }).name ?? 'error';
    if (/^InvalidNetworkInterfaceI[Dd]\./.test(code))
      throw new NodeSetupError(`floating ENI ${eniId}: ${code} (${(err as Error).message})`, eniId, undefined, { cause: err });
    throw err;
  }
  const eni = out.NetworkInterfaces?.find((e) => e.NetworkInterfaceId === eniId);
  if (!eni) throw new NodeSetupError(`floating ENI ${eniId}: not found`, eniId);
  return eni;
}

/** "attached to i-… (attaching)" / "available": the state a wait reports when it gives up. */
function stateOf(e: NetworkInterface): string {
  const a = e.Attachment;
  return a ? `${e.Status ?? 'unknown'}, ${a.Status ?? 'unknown'} on ${a.InstanceId ?? 'unknown instance'}` : (e.Status ?? 'unknown');
}

/** Polls the ENI until `done` holds; a NodeSetupError naming the ENI and its state after attachTimeoutMs. */
export async function waitForEni(
  ec2: Ec2,
  eniId: string,
  opts: NodeSetupOptions,
  wanted: string,
  done: (e: NetworkInterface) => boolean,
): Promise<NetworkInterface> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  const timeoutMs = opts.attachTimeoutMs ?? NODE_SETUP_DEFAULTS.attachTimeoutMs;
  const interval = opts.pollIntervalMs ?? NODE_SETUP_DEFAULTS.pollIntervalMs;
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const eni = await describeEni(ec2, eniId, opts);
    if (done(eni)) return eni;
    const left = deadline - clock.now();
    if (left <= 0)
      throw new NodeSetupError(`floating ENI ${eniId} stuck in state '${stateOf(eni)}' for ${timeoutMs} ms: expected ${wanted}`, eniId, stateOf(eni));
    await sleep(Math.min(interval, left));
  }
}

function call<T>(opts: NodeSetupOptions, fn: () => Promise<T>): Promise<T> {
  return withAwsRetry(fn, { ...(opts.retry ? { retry: opts.retry } : {}), ...(opts.log ? { log: opts.log } : {}) });
}
