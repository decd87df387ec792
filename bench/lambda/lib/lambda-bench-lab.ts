// The Lambda bench's lab: the failover bench's lab (zone a with an active and a standby
// NAT, the floating ENI on the first, zone b with one NAT; bench/failover/lib/bench-lab.ts)
// with no agent at all, a terminate lifecycle hook on zone a's group, and the Lambda
// runner on the lab's event bus (lab/lambda-lab.ts, the e2e test's setup). The NATs
// forward with the lab's NAT bootstrap (what user data sets up), so egress works without
// an agent. Between runs (outside the measured window) the bench waits for the carrier to
// be gone and for the group's replacement to be up as the next standby.
import { EC2Client } from '@aws-sdk/client-ec2';
import { startLambdaBackstop, type LambdaBackstop } from '../../../lab/lambda-lab.js';
import { NFT } from '../../../lab/netns/names.js';
import { LEASE_TABLE, startBenchLab, type BenchLab } from '../../failover/lib/bench-lab.js';
import { waitFor } from '../../failover/lib/wait.js';

const HOOK_NAME = 'natkeeper-terminate';
/** The bench's own calls sign with this key (the Lambda's with AKIDLABLAMBDA). */
const CREDENTIALS = { accessKeyId: 'AKIDLAMBDABENCH', secretAccessKey: 'lab' };

export interface LambdaBenchLabOptions {
  eniAttachMs: number;
  eniDetachMs: number;
  /** The terminate hook's heartbeat timeout (AWS: at least 30 s); its default result is CONTINUE. */
  hookTimeoutSeconds: number;
}

export interface LambdaBenchLab {
  bl: BenchLab;
  backstop: LambdaBackstop;
  ec2: EC2Client;
  /** Zone a's running NATs that are InService in their group and forward (bootstrap applied); the carrier among them. */
  ready(timeoutMs: number): Promise<{ carrier: string; standby: string }>;
  /** Waits until `victim` is terminated and a NAT outside `known` runs (the group's replacement). */
  restore(victim: string, known: ReadonlySet<string>): Promise<void>;
  close(): Promise<void>;
}

export async function startLambdaBenchLab(opts: LambdaBenchLabOptions): Promise<LambdaBenchLab> {
  const bl = await startBenchLab({ eniAttachMs: opts.eniAttachMs, eniDetachMs: opts.eniDetachMs });
  let backstop: LambdaBackstop;
  try {
    backstop = await startLambdaBackstop(bl.lab, {
      // The table startBenchLab created (no agent uses it here: the Lambda is the only holder).
      table: LEASE_TABLE,
      zones: bl.lab.manifest.zones.map((z) => z.name),
      credentials: CREDENTIALS,
      terminateHooks: [{ groupName: bl.zone.autoScalingGroupName, hookName: HOOK_NAME, heartbeatTimeoutSeconds: opts.hookTimeoutSeconds, defaultResult: 'CONTINUE' }],
    });
  } catch (err) {
    await bl.close();
    throw err;
  }
  const ec2 = new EC2Client({ endpoint: bl.lab.endpoints.ec2, region: bl.lab.manifest.region, credentials: CREDENTIALS, maxAttempts: 1 });
  const { store } = bl.lab;

  const inService = (id: string) => store.autoScalingGroups.get(bl.zone.autoScalingGroupName)?.instances.find((m) => m.instanceId === id)?.lifecycleState === 'InService';
  const forwards = async (id: string) => (await bl.dp.exec(id, ['nft', 'list', 'table', 'ip', NFT.bootstrap], { timeoutMs: 5_000 }).catch(() => undefined))?.code === 0;

  const ready = async (timeoutMs: number) => {
    const pair = await waitFor('zone a: a carrier and a standby, InService and forwarding', timeoutMs, async () => {
      const nats = bl.runningNats().filter(inService);
      const carrier = bl.egressInstance();
      const standby = nats.find((n) => n !== carrier);
      if (!carrier || !standby || !nats.includes(carrier)) return undefined;
      return (await forwards(carrier)) && (await forwards(standby)) ? { carrier, standby } : undefined;
    }, 200);
    // The Lambda is done with the last run's events, and it releases the lease after each.
    if (!(await backstop.runner.idle(30_000))) throw new Error('the Lambda still runs 30 s after the last run');
    const held = await backstop.lease.current();
    if (held) throw new Error(`the lease is held by ${held.holder} with no agent running`);
    return pair;
  };

  const restore = async (victim: string, known: ReadonlySet<string>) => {
    // A stopped carrier waits on the hook until the Lambda completes the action, or its timeout.
    await waitFor(`${victim} terminated`, opts.hookTimeoutSeconds * 1_000 + 30_000, () => (store.instances.get(victim)?.state === 'terminated' ? true : undefined), 200);
    await bl.waitReplacement(known, 90_000);
  };

  return {
    bl,
    backstop,
    ec2,
    ready,
    restore,
    close: async () => {
      try {
        ec2.destroy();
        await backstop.close();
      } finally {
        await bl.close();
      }
    },
  };
}
