// How the data plane runs kernel tools (sysctl, nft, ip): an injected Runner, so
// the agent runs them on its own host and tests run them inside a lab namespace.

import { spawn } from 'node:child_process';

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (argv: readonly string[], opts?: { input?: string }) => Promise<RunOutput>;

const localRunners = new WeakSet<Runner>();

/** Whether `runner` came from localRunner(): it runs on this host, so this host's /proc is the one it would read. */
export function isLocalRunner(runner: Runner): boolean {
  return localRunners.has(runner);
}

/** Runs argv here (no shell), with a timeout; a missing tool is exit 127 with the error on stderr. */
export function localRunner(timeoutMs = 15_000): Runner {
  const runner: Runner = (argv, opts = {}) =>
    new Promise((resolve) => {
      const [cmd, ...args] = argv;
      const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      let done = false;
      const finish = (code: number, extra = '') => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ code, stdout, stderr: stderr + extra });
      };
      child.on('error', (e) => finish(127, String(e)));
      child.on('close', (code, signal) => finish(code ?? (signal ? 128 : 1), signal ? ` (killed by ${signal})` : ''));
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    });
  localRunners.add(runner);
  return runner;
}

/** "`nft -f -` failed (exit 1): <stderr>" */
export function describeFailure(argv: readonly string[], r: RunOutput): string {
  const msg = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 5).join(' | ');
  return `\`${argv.join(' ')}\` failed (exit ${r.code}): ${msg || 'no output'}`;
}
