// Whether this machine and process can run the lab's data plane at all.

import { run } from './exec.js';

/**
 * Whether this process may build the data plane: tries to create and delete a
 * throwaway network namespace, and checks the tools are installed.
 */
export async function canUseNetns(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['socat', ['-V']],
    ['nsenter', ['--version']],
  ] as const) {
    const r = await run([tool, ...args], { timeoutMs: 5000 });
    if (r.code === 127) return { ok: false, reason: `${tool} is not installed (scripts/install-deps.sh installs it)` };
  }
  const probe = `nkprobe${Math.floor(Math.random() * 0xffffff).toString(16)}`;
  const add = await run(['ip', 'netns', 'add', probe], { timeoutMs: 5000 });
  if (add.code !== 0)
    return { ok: false, reason: `cannot create a network namespace (${add.stderr.trim() || `exit ${add.code}`}): the lab data plane needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)` };
  await run(['ip', 'netns', 'del', probe], { timeoutMs: 5000 });
  return { ok: true };
}
