// `natkeeper agent --config FILE [--state-file PATH]`: the long-running daemon on a NAT
// node. The config is validated before anything touches the network: a bad file exits 2
// naming each bad field. Logs are JSON lines on stderr. SIGINT/SIGTERM stop it cleanly
// (probes, heartbeats, HTTP); the data plane stays in place.
import { Command, CommanderError } from 'commander';
import { startAgent, type AgentDeps, type RunningAgent } from '../agent/daemon.js';
import { loadAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { ConfigError } from '../config/errors.js';
import { DEFAULT_STATE_FILE, fileStateStore } from '../dataplane/state.js';
import { createLogger } from '../telemetry/logger.js';
import { firstStopSignal } from './signals.js';

export interface AgentCliDeps {
  err?: (s: string) => void;
  /** Log lines (JSON); default stderr. */
  logWrite?: (line: string) => void;
  /** Where SIGINT/SIGTERM come from; default process. */
  signals?: Pick<NodeJS.Process, 'once' | 'off'>;
  start?: (config: AgentConfig, deps: AgentDeps) => Promise<RunningAgent>;
  /** Extra daemon dependencies (tests). */
  agentDeps?: AgentDeps;
}

function program(): Command {
  return new Command('natkeeper agent')
    .description('the NAT node daemon: data plane, probes, heartbeats, verdicts, /healthz /status /metrics')
    .requiredOption('--config <file>', 'the config file (YAML or JSON), e.g. /etc/natkeeper/natkeeper.yaml')
    .option('--state-file <path>', 'where the data plane keeps the sysctls it changed', DEFAULT_STATE_FILE)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
}

/** argv after "agent". Resolves with the exit code once the daemon has stopped. */
export async function runAgentCli(argv: readonly string[], deps: AgentCliDeps = {}): Promise<number> {
  const err = deps.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const cmd = program();
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(cmd.helpInformation());
    return 0;
  }
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      err(`natkeeper agent: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    throw e;
  }
  const o = cmd.opts<{ config: string; stateFile: string }>();
  let config: AgentConfig;
  try {
    config = loadAgentConfig(o.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`natkeeper agent: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const logger = createLogger({ level: config.log.level, ...(deps.logWrite ? { write: deps.logWrite } : {}) });
  const signals = deps.signals ?? process;
  let agent: RunningAgent;
  try {
    agent = await (deps.start ?? startAgent)(config, { logger, state: fileStateStore(o.stateFile), ...deps.agentDeps });
  } catch (e) {
    logger.error('agent_start_failed', { error: e as Error });
    return 1;
  }
  const sig = await firstStopSignal(signals);
  logger.info('agent_signal', { signal: sig });
  // SIGTERM (shutdown, systemd stop) is a planned handover: give the lease up first.
  if (sig === 'SIGTERM') await agent.handover('sigterm');
  await agent.stop();
  return 0;
}
