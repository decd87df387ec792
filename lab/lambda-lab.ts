// The Lambda backstop wired into a running lab with no agent (issue 5): the lease table,
// an EC2_INSTANCE_TERMINATING lifecycle hook on the groups it is asked for, and the Lambda
// runner (lab/lambda-runner.ts) subscribed to the lab's event bus, plus the SDK clients a
// test or bench reads back with. Shared by test/e2e/lambda-lifecycle.test.ts and
// bench/lambda/lambda.ts, so the bench measures the setup the e2e test checks.
import { AutoScalingClient, PutLifecycleHookCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RequestLogEntry } from './emulator/query/request-log.js';
import { LAMBDA_RUNNER_ACCESS_KEY_ID, startLambdaRunner, type LambdaRunner } from './lambda-runner.js';
import type { RunningLab } from './lab.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb.js';

export interface TerminateHookSpec {
  groupName: string;
  hookName: string;
  /** The hook's heartbeat timeout (AWS: 30 to 7200 s). */
  heartbeatTimeoutSeconds: number;
  /** What the group does when nobody completes the action in time. */
  defaultResult: 'CONTINUE' | 'ABANDON';
}

export interface LambdaBackstopOptions {
  /** The lease table (created when missing). */
  table: string;
  /** The zones the Lambda manages (controller.zones). */
  zones: readonly string[];
  /** Terminate hooks to put before the runner starts. */
  terminateHooks?: readonly TerminateHookSpec[];
  /** What the caller's own clients sign with (its calls show under this key in the request log). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Passed to the runner: an EventBridge schedule every this many ms (default none). */
  scheduleEveryMs?: number;
}

export interface LambdaBackstop {
  runner: LambdaRunner;
  /** Auto Scaling client of the caller (not the Lambda's). */
  autoscaling: AutoScalingClient;
  /** The Lambda's lease, read from the caller's side. */
  lease: DynamoDbLeaseStore;
  /** Stops the runner (waits for running invocations) and destroys the clients. The lab stays up. */
  close(): Promise<void>;
}

/** A lab API request the Lambda made (its SDK clients sign with the runner's key). */
export const isLambdaRequest = (e: RequestLogEntry): boolean => e.accessKeyId === LAMBDA_RUNNER_ACCESS_KEY_ID;

/** The lab API's requests the Lambda made in [fromMs, toMs]. */
export function lambdaRequests(lab: Pick<RunningLab, 'api'>, fromMs = 0, toMs = Number.POSITIVE_INFINITY): RequestLogEntry[] {
  return lab.api.requestLog.entries().filter((e) => isLambdaRequest(e) && e.time >= fromMs && e.time <= toMs);
}

/** Sets up the Lambda alone against `lab`; closes what it started when a step fails. */
export async function startLambdaBackstop(lab: RunningLab, opts: LambdaBackstopOptions): Promise<LambdaBackstop> {
  const region = lab.manifest.region;
  const dynamo = new DynamoDBClient({ endpoint: lab.endpoints.dynamodb, region, credentials: opts.credentials, maxAttempts: 1 });
  const autoscaling = new AutoScalingClient({ endpoint: lab.endpoints.autoscaling, region, credentials: opts.credentials, maxAttempts: 1 });
  const lease = new DynamoDbLeaseStore({ client: dynamo, tableName: opts.table, clock: { now: () => Date.now() } });
  const destroy = () => {
    autoscaling.destroy();
    dynamo.destroy();
  };
  try {
    await lease.ensureTable();
    for (const h of opts.terminateHooks ?? [])
      await autoscaling.send(
        new PutLifecycleHookCommand({
          AutoScalingGroupName: h.groupName,
          LifecycleHookName: h.hookName,
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          HeartbeatTimeout: h.heartbeatTimeoutSeconds,
          DefaultResult: h.defaultResult,
        }),
      );
    const runner = await startLambdaRunner({
      lab,
      config: { lease: { store: 'dynamodb', table: opts.table }, controller: { zones: [...opts.zones] } },
      ...(opts.scheduleEveryMs !== undefined ? { scheduleEveryMs: opts.scheduleEveryMs } : {}),
    });
    return {
      runner,
      autoscaling,
      lease,
      close: async () => {
        try {
          await runner.close();
        } finally {
          destroy();
        }
      },
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
