// The Lambda's environment (NATKEEPER_CONFIG, NATKEEPER_HOLDER, NATKEEPER_METRICS_NAMESPACE)
// and the rules its config must meet on top of the agent config schema. No SDK imports:
// `natkeeper config check --for lambda` runs these checks without loading the Lambda.
import { parseAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';

/** CloudWatch namespace of the EMF metrics unless NATKEEPER_METRICS_NAMESPACE says otherwise. */
export const DEFAULT_METRICS_NAMESPACE = 'NatKeeper';
export const VPC_ID_REQUIRED = 'controller.vpcId: required for the Lambda (it has no IMDS to learn its VPC from)';

export interface LambdaEnv {
  config: AgentConfig;
  holder: string;
  namespace: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** What the Lambda needs beyond a valid agent config; [] when it has it. */
export function lambdaConfigIssues(config: AgentConfig): string[] {
  const issues: string[] = [];
  if (!config.controller.vpcId) issues.push(VPC_ID_REQUIRED);
  if (config.lease.store !== 'dynamodb') issues.push(`lease.store: expected dynamodb (the Lambda cannot reach etcd), got ${config.lease.store}`);
  return issues;
}

/** The validated environment; throws ConfigError naming each bad field. */
export function loadLambdaEnv(env: Env): LambdaEnv {
  const text = env['NATKEEPER_CONFIG'];
  if (text === undefined || text.trim() === '') throw new ConfigError('NATKEEPER_CONFIG: required (the natkeeper config as JSON)', ['NATKEEPER_CONFIG: required']);
  const config = parseAgentConfig(text, 'NATKEEPER_CONFIG');
  const issues = lambdaConfigIssues(config);
  if (issues.length) throw new ConfigError(`NATKEEPER_CONFIG is not valid:\n  ${issues.join('\n  ')}`, issues);
  const holder = env['NATKEEPER_HOLDER']?.trim() || `lambda:${env['AWS_LAMBDA_FUNCTION_NAME'] ?? 'natkeeper'}`;
  const namespace = env['NATKEEPER_METRICS_NAMESPACE']?.trim() || DEFAULT_METRICS_NAMESPACE;
  return { config, holder, namespace };
}

