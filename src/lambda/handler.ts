// The Lambda entry (bundled to dist/bundle/lambda/index.mjs, handler `index.handler`).
// Thin: reads the environment once per container, builds the SDK clients and the
// DynamoDB lease store (cached across invocations), and hands each event to the core
// (src/lambda/core.ts).
//
// Environment (the CDK construct sets it):
//   NATKEEPER_CONFIG            JSON, the agent config schema (src/config/agent-config.ts);
//                               controller.vpcId is required, lease.store must be dynamodb
//   NATKEEPER_HOLDER            lease holder name; default lambda:<AWS_LAMBDA_FUNCTION_NAME>
//   NATKEEPER_METRICS_NAMESPACE EMF namespace; default NatKeeper
//
// A broken config is an operator error, not bad input: every invocation logs one line
// `config_invalid` naming the fields and throws, so it shows in the function's Errors
// metric (and LeaseHeld goes missing, which its alarm treats as breaching) instead of
// passing as quietly ignored events.
import { autoScalingClient, dynamoDbClient, dynamoDbLeaseStore, ec2Client, type AwsCredentials } from '../agent/node-aws.js';
import { ConfigError } from '../config/errors.js';
import { systemClock } from '../lease/clock.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { createLambdaCore, type LambdaCore, type LambdaDeps, type LambdaOutcome } from './core.js';
import { loadLambdaEnv, type Env, type LambdaEnv } from './config.js';
import { createThrottleCounter } from './throttles.js';

export type { LambdaOutcome };
export { loadLambdaEnv, type LambdaEnv };

const stdout = (line: string) => void process.stdout.write(line + '\n');

export interface LambdaClientOptions {
  logger: Logger;
  /** Where EMF lines go (stdout in Lambda). */
  emit: (line: string) => void;
  /** Default: the SDK's chain (the function's role). The lab runner signs with its own key. */
  credentials?: AwsCredentials;
}

/**
 * The core's dependencies from an environment: SDK clients at the config's region and
 * endpoints, the DynamoDB lease store, and destroy() for the clients (the lab runner's close).
 */
export function lambdaDeps(e: LambdaEnv, o: LambdaClientOptions): { deps: LambdaDeps; destroy: () => void } {
  const c = e.config;
  const ec2 = ec2Client(c, c.region, o.credentials);
  const autoscaling = autoScalingClient(c, c.region, o.credentials);
  const dynamodb = dynamoDbClient(c, c.region, o.credentials);
  // The lease store's throttling is counted on its client; the core counts EC2's and Auto Scaling's.
  const leaseThrottles = createThrottleCounter();
  leaseThrottles.instrument(dynamodb);
  const deps: LambdaDeps = {
    config: c,
    ec2,
    autoscaling,
    leaseStore: dynamoDbLeaseStore(c, dynamodb, systemClock),
    holder: e.holder,
    clock: systemClock,
    logger: o.logger,
    emit: o.emit,
    metricsNamespace: e.namespace,
    takeExtraThrottles: () => leaseThrottles.take(),
  };
  return {
    deps,
    destroy: () => {
      ec2.destroy();
      autoscaling.destroy();
      dynamodb.destroy();
    },
  };
}

/** The core wired to AWS (or the config's endpoints) from an environment. */
export function coreFromEnv(e: LambdaEnv, write: (line: string) => void = stdout): LambdaCore {
  const logger = createLogger({ level: e.config.log.level, write, base: { component: 'lambda' } });
  return createLambdaCore(lambdaDeps(e, { logger, emit: write }).deps);
}

/** A handler over an environment (the exported `handler` uses process.env). */
export function createHandler(env: Env, write: (line: string) => void = stdout) {
  let core: LambdaCore | undefined;
  let configError: ConfigError | undefined;
  const log: Logger = createLogger({ write, base: { component: 'lambda' } });
  return async (event: unknown, context?: { awsRequestId?: string }): Promise<LambdaOutcome> => {
    if (!core && !configError) {
      try {
        core = coreFromEnv(loadLambdaEnv(env), write);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        configError = e;
      }
    }
    if (configError) {
      log.error('config_invalid', { requestId: context?.awsRequestId, issues: configError.issues, error: configError.message });
      throw configError;
    }
    return core!(event, context?.awsRequestId);
  };
}

export const handler = createHandler(process.env);
