// natkeeper itself: a real `natkeeper agent` (the built CLI) on every running NAT of
// the lab, from lab/agents.ts's lab config. One override, verdict.minStableMs = 2 s (the
// agent's default is 10 s): it only delays a node's return to healthy, so it shortens
// the bench's restores between runs and leaves detection and failover as configured.
import { agentStatus, labAgentConfig, spawnAgent, stopAgent, verdictOf, type LabAgent } from '../../../../lab/agents.js';
import { LEASE_TABLE, type BenchLab } from '../bench-lab.js';
import { waitFor } from '../wait.js';
import type { Policy } from './policy.js';

const MIN_STABLE_MS = 2_000;

export function natkeeperPolicy(bl: BenchLab, _log: (line: string) => void): Policy {
  const config = labAgentConfig(bl.topology, { leaseTable: LEASE_TABLE, overrides: { verdict: { minStableMs: MIN_STABLE_MS } } });
  const agents = new Map<string, LabAgent>();
  const alive = (a: LabAgent) => a.child.exitCode === null && a.child.signalCode === null;
  const runningNats = () =>
    bl.lab.manifest.zones.flatMap((z) => (bl.lab.store.autoScalingGroups.get(z.autoScalingGroupName)?.instances ?? []).map((m) => m.instanceId)).filter((i) => bl.lab.store.instances.get(i)?.state === 'running');

  const allHealthy = async (nats: string[]) => {
    const views = await Promise.all([...agents.values()].map((a) => agentStatus(bl.dp, a).catch(() => undefined)));
    return views.every((s) => s?.health.healthy && nats.every((n) => verdictOf(s, n)?.state === 'healthy')) ? true : undefined;
  };

  /** The active NAT's agent has set up masquerade on the floating ENI it holds (before that, its own setup could undo a fault). */
  const activeSetUp = async () => {
    const active = bl.egressInstance();
    const eni = bl.zone.floatingEniId && bl.lab.store.networkInterfaces.get(bl.zone.floatingEniId);
    if (!active || !eni || eni.attachment?.instanceId !== active) return true;
    const nft = await bl.dp.exec(active, ['nft', 'list', 'table', 'ip', 'natkeeper'], { timeoutMs: 5_000 }).catch(() => undefined);
    return nft?.code === 0 && nft.stdout.includes('eth1') ? true : undefined;
  };

  return {
    name: 'natkeeper',
    parameters: `agents on every NAT (lab config: TCP probes to the echo targets, DynamoDB lease ttl 3 s), verdict.minStableMs ${MIN_STABLE_MS} ms, everything else the agent's defaults`,
    // The agent's default probe interval.
    cycleMs: 200,
    unsupported: () => undefined,
    ready: async () => {
      const nats = runningNats();
      for (const [id, a] of agents) if (!alive(a) || !nats.includes(id)) agents.delete(id);
      for (const id of nats) {
        if (agents.has(id)) continue;
        agents.set(id, spawnAgent(bl.dp, id, config, bl.dir));
      }
      await waitFor('every agent healthy, seeing every running NAT healthy', 120_000, () => allHealthy(nats), 250).catch((err: unknown) => {
        const tails = [...agents.values()].map((a) => `--- ${a.id}: ${a.log.join('').slice(-1_500)}`).join('\n');
        throw new Error(`${(err as Error).message}\n${tails}`);
      });
      await waitFor('masquerade on the active NAT’s floating ENI', 20_000, activeSetUp, 200);
    },
    diagnose: () =>
      [...agents.values()]
        .map((a) => {
          const lines = a.log.join('').split('\n').filter((l) => /"event":"(decision|cycle_[a-z_]*|leader_[a-z_]*|lease_[a-z_]*|fenced_out|planned_handover|zone_action_failed|verdict_transition|drain[a-z_]*)"/.test(l));
          return `--- ${a.id}${alive(a) ? '' : ' (exited)'}\n${lines.slice(-8).join('\n')}`;
        })
        .join('\n'),
    stop: async () => {
      await Promise.all([...agents.values()].map((a) => stopAgent(a, 1_000)));
      agents.clear();
    },
  };
}
