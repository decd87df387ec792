// `natkeeper iam-policy --config FILE [--principal agent|lambda] [--cluster NAME]
// [--account ID] [--partition P]`: print the IAM policy (JSON) a principal needs for the
// natkeeper config FILE. Reads only the file. The region and VPC come from the config
// (region, controller.vpcId); left out, the policy is unrestricted there and a note on
// stderr says so. Exit 0 with the policy on stdout, 2 on a bad flag or config (the
// message names it; nothing on stdout).
import { Command, CommanderError } from 'commander';
import { LEASE_NAME_PATTERN, loadAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';
import { natkeeperPolicy, NATKEEPER_PRINCIPALS, type NatkeeperPrincipal, type PolicyInput } from '../iam/policy.js';
import { UsageError } from './usage-error.js';

export interface IamPolicyCliDeps {
  out?: (s: string) => void;
  err?: (s: string) => void;
}

interface Flags {
  config: string;
  principal: string;
  cluster?: string;
  account?: string;
  partition: string;
}

const ACCOUNT_ID = /^\d{12}$/;
const PARTITION = /^aws(-[a-z]+)*$/;

function program(): Command {
  return new Command('natkeeper iam-policy')
    .description('print the IAM policy (JSON) the agent or the Lambda needs for a natkeeper config')
    .requiredOption('--config <file>', 'the natkeeper config file (region, lease.table, controller.vpcId, controller.fallbackNatGatewayIds)')
    .option('--principal <who>', 'agent (the NAT instances\' role) or lambda', 'agent')
    .option('--cluster <name>', 'the natkeeper:cluster tag value mutations require (default: lease.name, which the CDK construct sets to its clusterName)')
    .option('--account <id>', 'the 12-digit AWS account id (default: any account, *)')
    .option('--partition <p>', 'the AWS partition: aws, aws-cn, aws-us-gov', 'aws')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
}

function checkFlags(f: Flags): { principal: NatkeeperPrincipal; account?: string } {
  if (!(NATKEEPER_PRINCIPALS as readonly string[]).includes(f.principal))
    throw new UsageError(`--principal: expected ${NATKEEPER_PRINCIPALS.join(' or ')}, got ${JSON.stringify(f.principal)}`);
  if (f.cluster !== undefined && !LEASE_NAME_PATTERN.test(f.cluster))
    throw new UsageError(`--cluster: expected 1-128 of A-Z a-z 0-9 _ . - (the construct's clusterName), got ${JSON.stringify(f.cluster)}`);
  if (f.account !== undefined && !ACCOUNT_ID.test(f.account)) throw new UsageError(`--account: expected a 12-digit AWS account id, got ${JSON.stringify(f.account)}`);
  if (!PARTITION.test(f.partition)) throw new UsageError(`--partition: expected an AWS partition like aws, aws-cn or aws-us-gov, got ${JSON.stringify(f.partition)}`);
  return { principal: f.principal as NatkeeperPrincipal, ...(f.account !== undefined ? { account: f.account } : {}) };
}

/** The policy input from the config and flags, and notes on what is left unrestricted. */
function policyInputFrom(config: AgentConfig, f: Flags): { input: PolicyInput; notes: string[] } {
  const { principal, account } = checkFlags(f);
  if (config.lease.store !== 'dynamodb')
    throw new UsageError(`lease.store: expected dynamodb (the policy grants the DynamoDB lease table the CDK construct deploys), got ${config.lease.store}`);
  const notes: string[] = [];
  if (config.region === undefined) notes.push('region is not in the config: the policy allows every region (*)');
  if (config.controller.vpcId === undefined) notes.push('controller.vpcId is not in the config: the EC2 mutations are not restricted to one VPC (no ec2:Vpc condition)');
  if (account === undefined) notes.push('--account not given: the policy allows every account (*)');
  const fallback = Object.values(config.controller.fallbackNatGatewayIds ?? {});
  return {
    input: {
      principal,
      clusterName: f.cluster ?? config.lease.name,
      leaseTable: config.lease.table!,
      partition: f.partition,
      ...(config.region !== undefined ? { region: config.region } : {}),
      ...(account !== undefined ? { account } : {}),
      ...(config.controller.vpcId !== undefined ? { vpcId: config.controller.vpcId } : {}),
      ...(fallback.length > 0 ? { fallbackNatGatewayIds: [...new Set(fallback)] } : {}),
    },
    notes,
  };
}

/** argv after "iam-policy". */
export async function runIamPolicyCli(argv: readonly string[], deps: IamPolicyCliDeps = {}): Promise<number> {
  const out = deps.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = deps.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const cmd = program();
  if (argv.includes('--help') || argv.includes('-h')) {
    out(cmd.helpInformation().trimEnd());
    return 0;
  }
  try {
    await cmd.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      err(`natkeeper iam-policy: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    throw e;
  }
  try {
    const flags = cmd.opts<Flags>();
    const { input, notes } = policyInputFrom(loadAgentConfig(flags.config), flags);
    const policy = natkeeperPolicy(input);
    for (const n of notes) err(`natkeeper iam-policy: note: ${n}`);
    out(JSON.stringify(policy, null, 2));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      err(`natkeeper iam-policy: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
