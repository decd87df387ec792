// The Lambda alone, in the lab (issue 5): no agent runs, so nobody holds the lease; the
// lab's event bus delivers its EventBridge-shaped events to the Lambda runner
// (lab/lambda-runner.ts), which invokes the Lambda's core in-process against the lab's
// APIs and DynamoDB. Zone a has two NATs in an Auto Scaling group with a terminate
// lifecycle hook; its floating ENI is on nat-a1. The NATs forward with the lab's NAT
// bootstrap (masquerade out of every ethN, what user data sets up), so egress works
// without any agent. Terminating nat-a1 through the Auto Scaling API publishes the
// terminate lifecycle action; the Lambda moves the floating ENI to nat-a2 and completes
// the action (CONTINUE) before the hook's heartbeat timeout; the group then terminates
// nat-a1. App host a streams UDP probes throughout: the outage is printed, and asserted
// only to stay below the hook's timeout. Traffic stays inside the lab's namespaces.
import { TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAgentLab } from '../../lab/agents.js';
import { checkEgress } from '../../lab/egress.js';
import { lambdaRequests, startLambdaBackstop, type LambdaBackstop } from '../../lab/lambda-lab.js';
import { LAMBDA_RUNNER_ACCESS_KEY_ID, type LambdaRunner } from '../../lab/lambda-runner.js';
import { startLab, type RunningLab } from '../../lab/lab.js';
import { run } from '../../lab/netns/exec.js';
import { startLiveOutageStreams } from '../../lab/outage.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { parseConfigText } from '../../src/config/load-file.js';
import type { DynamoDbLeaseStore } from '../../src/lease/dynamodb.js';
import { until } from '../support/async.js';
import { distFile } from '../support/dist.js';
import { NO_REPLACEMENT, zoneLine } from '../support/failover-lab.js';
import { skipE2e, suiteName } from './dataplane-lab.js';

const PREFIX = `nkl${randomBytes(2).toString('hex')}-`;
const TABLE = 'natkeeper-lambda';
const HOOK = 'natkeeper-terminate';
/** The hook's heartbeat timeout (AWS's minimum is 30 s); its default result ABANDON tells a timeout from the Lambda's CONTINUE. */
const HOOK_TIMEOUT_S = 60;
const TERMINATE_EVENT = 'EC2 Instance-terminate Lifecycle Action';
const CREDENTIALS = { accessKeyId: 'AKIDLABTEST', secretAccessKey: 'lab-secret' };

// ENI moves and instance transitions take a few hundred ms: short of AWS's seconds, long
// enough that the Lambda's wait for the attachment is exercised.
const TOPOLOGY = [
  'realism: { mutatingLatencyMs: 20, describeLatencyMs: 0, eniAttachMs: 500, eniDetachMs: 300, instanceStartMs: 0, instanceStopMs: 0, instanceTerminateMs: 300, killStateDelayMs: 1000 }',
  // The group's replacement for nat-a1 would come after 10 min: not during the test.
  NO_REPLACEMENT,
  'zones:',
  zoneLine(0, 2),
].join('\n');

describe.skipIf(skipE2e)(suiteName('the Lambda alone handles a terminate lifecycle action in the lab (root)'), () => {
  let lab: RunningLab | undefined;
  let backstop: LambdaBackstop | undefined;
  let runner: LambdaRunner | undefined;
  let dir: string | undefined;
  let lease: DynamoDbLeaseStore;
  const topology = parseConfigText(topologySchema, TOPOLOGY, 'test topology');

  const theLab = () => lab!;
  const theRunner = () => runner!;
  const zoneA = () => theLab().manifest.zones.find((z) => z.name === 'a')!;
  const eniOf = () => theLab().store.networkInterfaces.get(zoneA().floatingEniId!)!;
  const zoneEip = () => theLab().store.addresses.values().find((a) => a.networkInterfaceId === zoneA().floatingEniId)!.publicIp;
  const egressOf = async (app: string) => (await checkEgress(theLab().dataPlane!, app, topology.internet.echoTargets[0]!, topology.internet.echoPort, 500)).seen;
  /** The API calls the Lambda made (its SDK clients sign with the runner's access key). */
  const lambdaCalls = (since = 0) => lambdaRequests(theLab(), since);
  /** A failed wait, with what the Lambda logged. */
  const explain = (e: unknown): never => {
    const lines = runner?.logLines().slice(-40).join('\n') ?? '(no runner)';
    throw new Error(`${(e as Error).message}\n--- Lambda log (last 40 lines)\n${lines}\n--- invocations\n${JSON.stringify(runner?.invocations() ?? [], null, 1).slice(0, 6000)}`, { cause: e });
  };

  beforeAll(async () => {
    distFile('lab/netns/echo-client.js');
    dir = mkdtempSync(join(tmpdir(), 'nk-lambda-'));
    lab = await startLab({ topology, runDir: join(dir, 'lab'), prefix: PREFIX, dataPlane: 'on' });
    await lab.dataPlane!.settled();
    backstop = await startLambdaBackstop(lab, {
      table: TABLE,
      zones: ['a'],
      credentials: CREDENTIALS,
      terminateHooks: [{ groupName: zoneA().autoScalingGroupName, hookName: HOOK, heartbeatTimeoutSeconds: HOOK_TIMEOUT_S, defaultResult: 'ABANDON' }],
    });
    ({ runner, lease } = backstop);
  }, 120_000);

  afterAll(async () => {
    try {
      await backstop?.close();
    } finally {
      // Closes the lab, then removes every namespace under the prefix and the run dir, also on failure.
      await closeAgentLab({ agents: [], lab, prefix: PREFIX, dir });
      const left = (await run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(PREFIX));
      expect(left).toEqual([]);
    }
  }, 60_000);

  it('a malformed event POSTed to the webhook is ignored: answered 200, no API call', async () => {
    expect(await theRunner().idle(10_000)).toBe(true);
    const since = Date.now();
    const before = theRunner().invocations().length;
    const post = (body: string) => fetch(theRunner().url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    // Not JSON at all: handed to the handler as the string it is.
    const notJson = await post('{"detail-type": "EC2 Instance-terminate');
    expect(notJson.status).toBe(200);
    expect(((await notJson.json()) as { outcome: { ignored?: string } }).outcome.ignored).toMatch(/expected an EventBridge event/);
    // The right envelope, a detail that names no instance: ignored, naming the field.
    const bad = await post(
      JSON.stringify({
        version: '0',
        id: 'bad-1',
        'detail-type': TERMINATE_EVENT,
        source: 'aws.autoscaling',
        account: '123456789012',
        time: '2026-01-02T03:04:05Z',
        region: 'us-east-1',
        resources: [],
        detail: { LifecycleActionToken: 'b1e7c0de-0000-4000-8000-000000000000', AutoScalingGroupName: zoneA().autoScalingGroupName, LifecycleHookName: HOOK, EC2InstanceId: 42, LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' },
      }),
    );
    expect(bad.status).toBe(200);
    expect(((await bad.json()) as { outcome: { ignored?: string } }).outcome.ignored).toMatch(/detail\.EC2InstanceId/);
    const mine = theRunner().invocations().slice(before);
    expect(mine.map((r) => [r.trigger, r.outcome?.event, r.error])).toEqual([
      ['webhook', 'ignored', undefined],
      ['webhook', 'ignored', undefined],
    ]);
    // Bad input costs no API call at all, so certainly no mutating one.
    expect(lambdaCalls(since)).toEqual([]);
    expect(theLab().api.requestLog.entries().filter((e) => e.time >= since && e.mutating)).toEqual([]);
    expect(theLab().store.networkInterfaces.get(zoneA().floatingEniId!)!.attachment?.instanceId).toBe(zoneA().natInstanceIds[0]);
  });

  it('scale-in of the active NAT: the Lambda moves the floating ENI to the standby and completes the lifecycle action before its timeout', async () => {
    const a = zoneA();
    const [a1, a2] = a.natInstanceIds as [string, string];
    const app = a.appInstanceIds[0]!;
    const eip = zoneEip();
    expect(eniOf().attachment?.instanceId).toBe(a1);
    // No agent: nobody holds the lease.
    expect(await lease.current()).toBeNull();
    expect(await until('app-a egress through nat-a1 (the lab bootstrap masquerades)', () => egressOf(app), 15_000)).toBe(eip);

    const { echoTargets, echoPort } = topology.internet;
    const streams = startLiveOutageStreams(theLab().dataPlane!, { apps: [app], target: echoTargets[0]!, port: echoPort, maxDurationMs: 90_000 });
    let outageMs: number;
    let goneAfterMs: number;
    const terminatedAt = Date.now();
    try {
      await until('app-a probes answered for 1 s', () => streams.allAnsweringFor(1_000), 10_000);
      // A scale-in that keeps the group's size (its min is 2): the group takes nat-a1 out
      // through the terminate hook; its replacement is held off by NO_REPLACEMENT.
      await backstop!.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: a1, ShouldDecrementDesiredCapacity: false }));
      await until('the floating ENI attached to nat-a2', () => eniOf().attachment?.instanceId === a2 && eniOf().attachment?.status === 'attached', 30_000).catch(explain);
      await until('nat-a1 terminated by its group', () => theLab().store.instances.get(a1)?.state === 'terminated', 30_000).catch(explain);
      goneAfterMs = Date.now() - terminatedAt;
      await until('app-a probes answered again for 1 s', () => streams.allAnsweringFor(1_000), 20_000).catch(explain);
    } finally {
      outageMs = streams.stop().get(app)!.longestGapMs;
    }
    console.log(`Lambda-only scale-in of the active NAT: app-a's longest gap ${Math.round(outageMs)} ms; nat-a1 terminated after ${goneAfterMs} ms`);
    // Performance is not asserted: only that egress came back well before the hook's timeout.
    expect(outageMs).toBeLessThan(HOOK_TIMEOUT_S * 1000);
    expect(await until('app-a egress after the move', () => egressOf(app), 10_000)).toBe(eip);
    expect(theLab().store.routeTables.get(a.privateRouteTableIds[0]!)?.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0')?.networkInterfaceId).toBe(a.floatingEniId);

    // The lifecycle action was completed with CONTINUE, by the Lambda, while it was still
    // waiting (the lab answers ValidationError for an action that already ended), and the
    // group terminated nat-a1 long before the hook's heartbeat timeout would have.
    expect(await theRunner().idle(30_000)).toBe(true);
    const completes = lambdaCalls(terminatedAt).filter((e) => e.action === 'CompleteLifecycleAction');
    expect(completes.map((e) => [e.status, e.params.LifecycleHookName, e.params.LifecycleActionResult])).toEqual([[200, HOOK, 'CONTINUE']]);
    expect(goneAfterMs).toBeLessThan(HOOK_TIMEOUT_S * 1000);
    // Completed only once egress had moved: the ENI was attached to nat-a2 first.
    const mutating = lambdaCalls(terminatedAt).filter((e) => e.mutating && e.status === 200).map((e) => e.action);
    expect(mutating.indexOf('AttachNetworkInterface')).toBeGreaterThanOrEqual(0);
    expect(mutating.indexOf('AttachNetworkInterface')).toBeLessThan(mutating.indexOf('CompleteLifecycleAction'));

    // The lab published one terminate lifecycle action, for nat-a1; one invocation handled it.
    const published = theLab().events.recent({ detailType: TERMINATE_EVENT });
    expect(published.map((e) => (e.detail as { EC2InstanceId: string }).EC2InstanceId)).toEqual([a1]);
    const handled = theRunner().invocations().filter((r) => r.eventId === published[0]!.id);
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({ trigger: 'webhook', attempt: 1, outcome: { event: 'lifecycle-terminate', lifecycle: { completed: true } } });
    expect(handled[0]!.error).toBeUndefined();
    // Every invocation (the lifecycle action and the state changes that followed) ended without an error.
    expect(theRunner().invocations().filter((r) => r.error !== undefined)).toEqual([]);
    expect(theLab().events.deliveries().filter((d) => d.detailType === TERMINATE_EVENT).map((d) => d.status)).toEqual(['delivered']);

    // The decision was logged under the Lambda's holder name (one invocation: holder/requestId).
    const decision = (await lease.history(10)).find((d) => d.detail?.zone === 'a');
    expect(decision).toMatchObject({ detail: { zone: 'a', strategy: 'eni-move', via: a2 } });
    expect(decision!.holder.startsWith(`${theRunner().holder}/`)).toBe(true);
    // Every invocation released the lease when it ended.
    expect(await lease.current()).toBeNull();
    // Every mutating call since the scale-in was the Lambda's or the test's own.
    const callers = new Set(theLab().api.requestLog.entries().filter((e) => e.time >= terminatedAt && e.mutating).map((e) => e.accessKeyId));
    expect([...callers].sort()).toEqual([CREDENTIALS.accessKeyId, LAMBDA_RUNNER_ACCESS_KEY_ID].sort());
  });
});
