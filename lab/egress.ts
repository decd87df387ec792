// "Which public address does the internet see when this host goes out?" — asked
// from inside an instance's namespace with the lab's echo client.
import type { DataPlane } from './netns/dataplane.js';
import { distScript } from './netns/paths.js';

export interface EgressResult {
  instanceId: string;
  target: string;
  /** The source address the echo server saw, or undefined when no answer came. */
  seen: string | undefined;
  ms: number;
}

export async function checkEgress(dp: DataPlane, instanceId: string, target: string, port: number, timeoutMs = 1000): Promise<EgressResult> {
  const r = await dp.exec(
    instanceId,
    [process.execPath, distScript('echo-client'), '--target', target, '--port', String(port), '--timeout', String(timeoutMs), '--json'],
    { timeoutMs: timeoutMs + 5000 },
  );
  let seen: string | undefined;
  if (r.code === 0) {
    try {
      seen = (JSON.parse(r.stdout) as { seen?: string }).seen;
    } catch {
      seen = undefined;
    }
  }
  return { instanceId, target, seen, ms: r.ms };
}
