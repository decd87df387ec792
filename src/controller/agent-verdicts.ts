// Verdicts live in the agents: a controller that is not one (`natkeeper controller`, the
// operator commands) reads them from an agent's /status.
import type { NodeVerdict } from '../domain/verdict/types.js';

export type AgentVerdicts = { verdicts: NodeVerdict[]; source: string } | { verdicts: []; unavailable: string };

/** An agent's verdicts from its /status (`base` like http://127.0.0.1:9469), or why there are none. */
export async function fetchAgentVerdicts(base: string, doFetch: typeof fetch = fetch, timeoutMs = 2_000): Promise<AgentVerdicts> {
  const url = `${base.replace(/\/+$/, '')}/status`;
  try {
    const r = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return { verdicts: [], unavailable: `${url} answered ${r.status}` };
    const body = (await r.json()) as { verdicts?: unknown };
    if (!Array.isArray(body.verdicts)) return { verdicts: [], unavailable: `${url} gave no verdicts` };
    return { verdicts: body.verdicts as NodeVerdict[], source: url };
  } catch (e) {
    return { verdicts: [], unavailable: `no agent at ${url} (${(e as Error).message})` };
  }
}
