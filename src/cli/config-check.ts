// `natkeeper config check FILE [--json] [--for agent|lambda]`: validate a natkeeper config
// file and exit. Reads only the file: no IMDS, no AWS, no lease store. Exit 0 when valid
// (printing a summary, or with --json the config with every default filled in), 2 when the
// file is missing or invalid (each bad field named with what was expected) or on bad usage.
// --for lambda checks the file as the Lambda's NATKEEPER_CONFIG: the Lambda's own rules
// (src/lambda/config.ts lambdaConfigIssues: controller.vpcId required, dynamodb lease) on top.
import { Command, CommanderError, Option } from 'commander';
import { loadAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';
import { lambdaConfigIssues } from '../lambda/config.js';

export interface ConfigCliDeps {
  out?: (s: string) => void;
  err?: (s: string) => void;
}

function program(): Command {
  const root = new Command('natkeeper config').description('the agent config file').exitOverride();
  root
    .command('check')
    .description('validate FILE (YAML or JSON) without touching the network')
    .argument('<file>', 'the config file, e.g. /etc/natkeeper/natkeeper.yaml')
    .option('--json', 'print the validated config with every default filled in', false)
    .addOption(new Option('--for <who>', 'agent: a NAT node\'s config file; lambda: the Lambda\'s NATKEEPER_CONFIG').choices(['agent', 'lambda']).default('agent'))
    .allowExcessArguments(false)
    .exitOverride();
  root.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  root.commands.forEach((c) => c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));
  return root;
}

function summary(file: string, c: AgentConfig): string {
  const lease = c.lease.store === 'dynamodb' ? `dynamodb table ${c.lease.table}` : `etcd ${c.lease.endpoint}`;
  const peers = c.peers.mode === 'static' ? `${c.peers.nodes.length} static peer(s)` : 'peers discovered';
  return [
    `${file}: valid`,
    `  node        ${c.node.id ?? '(from IMDS)'}${c.node.zone ? ` in ${c.node.zone}` : ''}`,
    `  probes      ${c.probe.targets.length} target(s) every ${c.probe.intervalMs} ms: ${c.probe.targets.map((t) => t.name).join(', ')}`,
    `  heartbeat   udp/${c.heartbeat.port} every ${c.heartbeat.intervalMs} ms, ${peers}`,
    `  lease       ${lease}, ttl ${c.lease.ttlMs} ms, renew every ${c.lease.renewEveryMs} ms`,
    `  http        ${c.http.listen.address}`,
  ].join('\n');
}

function lambdaSummary(file: string, c: AgentConfig): string {
  const fallback = Object.entries(c.controller.fallbackNatGatewayIds ?? {}).map(([z, id]) => `${z}=${id}`);
  return [
    `${file}: valid for the Lambda (NATKEEPER_CONFIG)`,
    `  region      ${c.region ?? '(the function\'s AWS_REGION)'}`,
    `  vpc         ${c.controller.vpcId ?? ''}`,
    `  zones       ${c.controller.zones?.join(', ') ?? 'every zone tagged natkeeper:zone'}`,
    `  lease       dynamodb table ${c.lease.store === 'dynamodb' ? c.lease.table : ''}, name ${c.lease.name}, ttl ${c.lease.ttlMs} ms`,
    `  failback    after ${c.controller.failbackAfterMs} ms; fallback NAT gateways: ${fallback.join(', ') || 'none'}`,
  ].join('\n');
}

/** argv after "config". */
export async function runConfigCli(argv: readonly string[], deps: ConfigCliDeps = {}): Promise<number> {
  const out = deps.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = deps.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const cmd = program();
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    const sub = argv[0] === 'check' ? cmd.commands[0]! : cmd;
    out(sub.helpInformation());
    return argv.length === 0 ? 2 : 0;
  }
  let file = '';
  let json = false;
  let forWho = 'agent';
  try {
    cmd.commands[0]!.action((f: string, o: { json: boolean; for: string }) => {
      file = f;
      json = o.json;
      forWho = o.for;
    });
    await cmd.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      err(`natkeeper config: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    throw e;
  }
  try {
    const config = loadAgentConfig(file);
    if (forWho === 'lambda') {
      const issues = lambdaConfigIssues(config);
      if (issues.length) {
        err(`natkeeper config check: ${file} is a valid agent config but not a valid Lambda config (NATKEEPER_CONFIG):\n  ${issues.join('\n  ')}`);
        return 2;
      }
    }
    out(json ? JSON.stringify(config, null, 2) : forWho === 'lambda' ? lambdaSummary(file, config) : summary(file, config));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`natkeeper config check: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
