// `natkeeper controller --config FILE [--agent URL]... [--id NAME]`: the controller on a
// host that is not a NAT node (src/controller/standalone.ts). It runs until SIGINT or
// SIGTERM; SIGTERM gives the lease up first so an agent takes over within a round.
// A bad config or flag exits 2 naming it; logs are JSON lines on stderr.
import { hostname } from 'node:os';
import { Command, CommanderError } from 'commander';
import { loadAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';
import { startStandaloneController } from '../controller/standalone.js';
import { createLogger } from '../telemetry/logger.js';
import { firstStopSignal } from './signals.js';
import { ContextError, DEFAULT_AGENT_URL, openControllerContext, type ContextDeps } from './controller-context.js';

export interface ControllerCliDeps {
  err?: (s: string) => void;
  logWrite?: (line: string) => void;
  signals?: Pick<NodeJS.Process, 'once' | 'off'>;
  context?: ContextDeps;
  /** Called once the controller runs (tests). */
  started?: (c: ReturnType<typeof startStandaloneController>) => void;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function parseAgentUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ContextError(`--agent: expected an http(s) URL like ${DEFAULT_AGENT_URL}, got ${JSON.stringify(text)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ContextError(`--agent: expected an http(s) URL, got ${JSON.stringify(text)}`);
  return text;
}

export async function runControllerCli(argv: readonly string[], deps: ControllerCliDeps = {}): Promise<number> {
  const err = deps.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const cmd = new Command('natkeeper controller')
    .description('the controller off the NAT nodes: campaigns for the lease, takes verdicts from agents, moves egress')
    .requiredOption('--config <file>', 'the natkeeper config file (region, endpoints, lease, controller.vpcId)')
    .option('--agent <url>', 'an agent whose /status gives the verdicts (repeat for fallbacks)', collect, [])
    .option('--id <name>', 'the lease holder name', `controller:${hostname()}`)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(cmd.helpInformation());
    return 0;
  }
  let config: AgentConfig;
  let agents: string[];
  let id: string;
  try {
    cmd.parse([...argv], { from: 'user' });
    const o = cmd.opts<{ config: string; agent: string[]; id: string }>();
    agents = (o.agent.length ? o.agent : [DEFAULT_AGENT_URL]).map(parseAgentUrl);
    if (!/^[\w:.@-]{1,64}$/.test(o.id)) throw new ContextError(`--id: expected 1–64 letters, digits or :.@_-, got ${JSON.stringify(o.id)}`);
    id = o.id;
    config = loadAgentConfig(o.config);
  } catch (e) {
    if (e instanceof CommanderError || e instanceof ConfigError || e instanceof ContextError) {
      err(`natkeeper controller: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    throw e;
  }
  const logger = createLogger({ level: config.log.level, ...(deps.logWrite ? { write: deps.logWrite } : {}) });
  let ctx;
  try {
    ctx = await openControllerContext(config, agents[0]!, deps.context);
  } catch (e) {
    err(`natkeeper controller: ${(e as Error).message}`);
    return e instanceof ContextError ? 2 : 1;
  }
  const running = startStandaloneController({
    config,
    ec2: ctx.ec2,
    leaseStore: ctx.leaseStore,
    vpcId: ctx.observe.vpcId,
    holder: id,
    agents,
    clock: { now: () => Date.now() },
    logger: logger.child({ component: 'controller' }),
    ...(deps.context?.fetch ? { fetch: deps.context.fetch } : {}),
  });
  deps.started?.(running);
  const signals = deps.signals ?? process;
  const sig = await firstStopSignal(signals);
  logger.info('controller_signal', { signal: sig });
  if (sig === 'SIGTERM') await running.stepDown('sigterm');
  await running.stop();
  return 0;
}
