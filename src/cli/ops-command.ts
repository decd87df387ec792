// The shared shape of the operator commands (status, plan, history): commander parsing
// with --config and --json, the config loaded (a bad file exits 2 naming the field), the
// controller context opened, and one exit code: 0 ok, 1 failed, 2 bad usage.
import { Command, CommanderError } from 'commander';
import { loadAgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';
import { ContextError, DEFAULT_AGENT_URL, openControllerContext, type ContextDeps, type ControllerContext } from './controller-context.js';
import { UsageError } from './usage-error.js';

export { UsageError };

export interface OpsIo {
  out?: (s: string) => void;
  err?: (s: string) => void;
  context?: ContextDeps;
}

export interface OpsCommand<O> {
  name: string;
  description: string;
  /** Adds the command's own options. */
  options?: (cmd: Command) => Command;
  run(ctx: ControllerContext, opts: O & { json: boolean }, out: (s: string) => void): Promise<number>;
}

export async function runOpsCommand<O>(def: OpsCommand<O>, argv: readonly string[], io: OpsIo = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = io.err ?? ((s: string) => process.stderr.write(s + '\n'));
  let cmd = new Command(`natkeeper ${def.name}`)
    .description(def.description)
    .requiredOption('--config <file>', 'the natkeeper config file (region, endpoints, lease, controller.vpcId)')
    .option('--agent <url>', 'an agent whose /status gives the verdicts', DEFAULT_AGENT_URL)
    .option('--json', 'machine-readable output', false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  if (def.options) cmd = def.options(cmd);
  if (argv.includes('--help') || argv.includes('-h')) {
    out(cmd.helpInformation().trimEnd());
    return 0;
  }
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      err(`natkeeper ${def.name}: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    throw e;
  }
  const opts = cmd.opts<O & { config: string; agent: string; json: boolean }>();
  try {
    const config = loadAgentConfig(opts.config);
    const ctx = await openControllerContext(config, opts.agent, io.context);
    return await def.run(ctx, opts, out);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ContextError || e instanceof UsageError) {
      err(`natkeeper ${def.name}: ${e.message}`);
      return 2;
    }
    err(`natkeeper ${def.name}: ${(e as Error).message}`);
    return 1;
  }
}
