// `make demo`: natkeeper's main job, end to end in the lab. The default lab comes up
// with a natkeeper agent on every NAT node; a live line shows each app host's egress
// and each zone's active NAT. Three faults follow, each showing the detection, the
// controller's plan and actions (its decision log), and the outage the app hosts
// measured, then the recovery:
//   1. zone a's active NAT is hard-killed → eni-move to the standby; the ASG replaces the
//      killed NAT and an agent starts on the replacement;
//   2. zone b's only NAT hangs (its masquerade rule removed) → cross-zone route-replace;
//      the rule is put back and, after controller.failbackAfterMs, egress fails back;
//   3. a Spot interruption warning for zone a's active NAT → planned handover (eni-move).
// It ends with a table of the outages and tears everything down, also on Ctrl-C.
// Traffic stays inside the lab's namespaces.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/table.js';
import { parseConfigText } from '../src/config/load-file.js';
import { createLogger } from '../src/telemetry/logger.js';
import { ensureLeaseTable, labAgentConfig, natkeeperCli, verdictOf } from './agents.js';
import { DemoConsole } from './demo-console.js';
import { DecisionLog } from './demo-decisions.js';
import { AgentFleet } from './demo-fleet.js';
import { LiveView } from './demo-live.js';
import { removeMasquerade } from './demo-masquerade.js';
import { nameOf, zoneEgress } from './demo-placement.js';
import { awaitFailback, awaitReplacement, describeSpotAftermath } from './demo-recovery.js';
import { runScenario, type DemoContext, type ScenarioResult } from './demo-scenario.js';
import { until } from './demo-wait.js';
import { startLab, type RunningLab } from './lab.js';
import { describeLab } from './lab-status.js';
import { teardownLab } from './netns/dataplane.js';
import { topologySchema } from './topology/schema.js';

const PREFIX = `nkd${randomBytes(2).toString('hex')}-`;
const LEASE_TABLE = 'natkeeper-demo';
/** Shorter than the default 60 s so the demo shows a failback within its four minutes. */
const FAILBACK_AFTER_MS = 15_000;
/**
 * Zones b and c have one NAT each: no second vantage on their subnet, so the verdict
 * takes the single-vantage policy docs/agent.md recommends for that layout.
 */
const VERDICT = { minVantages: 1, windowProbes: 20, failuresToFail: 14, failStreakToFail: 8 };
const AGENTS_UP_TIMEOUT_MS = 90_000;

const out = new DemoConsole();
// The SDK's advice to move to Node 22 (printed once per process) says nothing about the demo.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

function preflight(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the demo builds network namespaces and needs root: run `sudo make demo` (or `sudo node dist/lab/demo.js` after `make build`)');
  }
  natkeeperCli(); // throws with "build first (make build)" when the CLI is missing
}

function showTopology(lab: RunningLab): void {
  const status = describeLab(lab.store, lab.manifest, lab.dataPlane, undefined);
  out.say(
    formatTable(
      ['instance', 'name', 'role', 'zone', 'private IPs', 'public IPs'],
      status.instances.map((i) => [i.instanceId, i.name, i.role, i.zone, i.interfaces.map((e) => e.privateIp).join(' '), i.interfaces.map((e) => e.publicIp).filter(Boolean).join(' ')]),
    ),
  );
  out.say();
  out.say(formatTable(['zone', 'floating ENI', 'EIP', 'on'], status.floatingEnis.map((f) => [f.zone, f.networkInterfaceId, f.publicIp, f.attachedTo ? nameOf(lab, f.attachedTo) : '-'])));
}

async function agentsUp(ctx: DemoContext): Promise<void> {
  const nats = () => ctx.lab.store.instances.values().filter((i) => i.role === 'nat' && i.state === 'running').map((i) => i.instanceId);
  const ss = await until(
    'every agent healthy and seeing every NAT healthy',
    async () => {
      const ss = await ctx.fleet.statuses();
      const all = nats();
      const ready = [...ss.values()].filter((s) => s.health.healthy && all.every((n) => verdictOf(s, n)?.state === 'healthy'));
      out.setLive(`waiting for the agents: ${ss.size} of ${all.length} answering /status, ${ready.length} healthy and seeing every NAT healthy`);
      return ready.length === all.length ? ss : undefined;
    },
    AGENTS_UP_TIMEOUT_MS,
    500,
  );
  out.clearLive();
  const lease = await ctx.decisions.lease();
  out.say(`  ${out.elapsed()} ${ss.size} agents healthy, every NAT healthy in every agent's view; the lease (the controller) is held by ${lease ? `${nameOf(ctx.lab, lease.holder)} (fencing token ${lease.token})` : 'nobody yet'}`);
}

function summaryTable(rows: { r: ScenarioResult; then: string }[]): string {
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  return formatTable(
    ['scenario', 'zone', 'NAT', 'detected after', 'strategy', 'calls', 'egress moved after', 'outage (longest gap)', 'then'],
    rows.map(({ r, then }) => [r.title, r.zone, r.victim, s(r.detectedMs), r.strategy, r.calls, s(r.movedMs), Number.isFinite(r.outageMs) ? `${Math.round(r.outageMs)} ms` : 'unknown', then]),
  );
}

/** dirs.agents: the agents' configs and state files; dirs.lab: startLab's runDir. */
async function runDemo(lab: RunningLab, dirs: { agents: string; lab: string }, labWarnings: readonly string[], register: (stop: () => Promise<void>) => void): Promise<void> {
  const topology = lab.dataPlane!.topology;
  const target = topology.internet.echoTargets[0]!;
  const port = topology.internet.echoPort;
  const [zoneA, zoneB] = lab.manifest.zones as [NonNullable<(typeof lab.manifest.zones)[0]>, NonNullable<(typeof lab.manifest.zones)[0]>];

  out.step(2, 'natkeeper agents on every NAT node (they elect a leader through a DynamoDB lease; the leader runs the controller)');
  await ensureLeaseTable(lab, LEASE_TABLE);
  const config = labAgentConfig(topology, { leaseTable: LEASE_TABLE, overrides: { verdict: VERDICT, controller: { failbackAfterMs: FAILBACK_AFTER_MS } } });
  out.say(`  agent config: the lab defaults (lab/agents.ts labAgentConfig) with controller.failbackAfterMs ${FAILBACK_AFTER_MS / 1000} s (default 60 s, shortened for the demo)`);
  out.say(`  and verdict ${JSON.stringify(VERDICT)}: zones b and c have a single NAT (docs/agent.md, "one NAT per subnet")`);
  const fleet = new AgentFleet(lab, config, dirs.agents, (id) => out.say(`  ${out.elapsed()} agent started on ${nameOf(lab, id)} (${id}), launched by the Auto Scaling group`));
  const decisions = new DecisionLog(lab, LEASE_TABLE);
  const live = new LiveView(lab, out, target, port);
  register(async () => {
    live.stop();
    await fleet.stop();
    decisions.close();
  });
  await fleet.start();
  out.say(`  ${out.elapsed()} started ${fleet.agents.size} agents: ${[...fleet.agents.keys()].map((id) => nameOf(lab, id)).join(', ')}`);
  const ctx: DemoContext = { lab, fleet, out, decisions, target, port, labWarnings };
  await agentsUp(ctx);

  out.step(3, `Live view (every second): each app host's egress as the echo server at ${target} sees it, and each zone's active NAT`);
  live.start();
  await new Promise((r) => setTimeout(r, 2_500));
  out.say(`  ${live.line()}`);

  const rows: { r: ScenarioResult; then: string }[] = [];
  const killed = zoneEgress(lab, zoneA).natId!;
  const known = new Set(lab.store.instances.values().map((i) => i.instanceId));
  out.step(4, `Hard kill: zone a's active NAT ${nameOf(lab, killed)} loses power (links down, every process killed)`);
  const kill = await runScenario(ctx, {
    title: 'hard kill',
    zone: zoneA,
    victim: killed,
    inject: async () => {
      const r = await lab.chaos.run({ verb: 'kill', instance: killed });
      if (r.outcome !== 'done') throw new Error(`chaos kill refused: ${r.detail}`);
      return `chaos kill ${nameOf(lab, killed)}`;
    },
    detectedBy: (e) => e.event === 'verdict_transition' && e['node'] === killed && e['to'] === 'unhealthy',
  });
  const replacement = await awaitReplacement(ctx, zoneA, killed, known);
  rows.push({ r: kill, then: `ASG replacement ${nameOf(lab, replacement.instanceId)} healthy ${(replacement.afterMs / 1000).toFixed(1)} s later: zone a's new standby` });

  const hung = zoneEgress(lab, zoneB).natId!;
  out.step(5, `Hang: zone b's only NAT ${nameOf(lab, hung)} keeps running (EC2 healthy) but its masquerade rule is removed`);
  let removal: Awaited<ReturnType<typeof removeMasquerade>> | undefined;
  const hang = await runScenario(ctx, {
    title: 'hang (masquerade removed)',
    zone: zoneB,
    victim: hung,
    inject: async () => {
      removal = await removeMasquerade(lab.dataPlane!, hung);
      return `deleted in ${nameOf(lab, hung)}'s namespace: ${removal.removed.join('; ')}`;
    },
    detectedBy: (e) => e.event === 'verdict_transition' && e['node'] === hung && e['to'] === 'unhealthy',
  });
  out.say(`  ${out.elapsed()} zone b has no other NAT: its route went to another zone. Now the repair, and the failback after ${FAILBACK_AFTER_MS / 1000} s healthy (controller.failbackAfterMs, shortened for the demo)`);
  const fb = await awaitFailback(ctx, zoneB, hung, async () => {
    await removal!.restore();
    return `the masquerade rule put back in ${nameOf(lab, hung)} (as a reboot or an operator would)`;
  });
  rows.push({ r: hang, then: `repaired; failback (${fb.strategy}) ${(fb.failbackMs / 1000).toFixed(1)} s after the repair` });

  const spot = zoneEgress(lab, zoneA).natId!;
  out.step(6, `Spot interruption: a two-minute warning for zone a's active NAT ${nameOf(lab, spot)} (IMDS spot/instance-action + EventBridge)`);
  const spotResult = await runScenario(ctx, {
    title: 'Spot interruption',
    zone: zoneA,
    victim: spot,
    inject: async () => {
      const r = await lab.chaos.run({ verb: 'spot-interrupt', instance: spot, action: 'terminate' });
      if (r.outcome !== 'done') throw new Error(`chaos spot-interrupt refused: ${r.detail}`);
      return `chaos spot-interrupt ${nameOf(lab, spot)}: ${r.detail ?? 'warning sent'}`;
    },
    detectedBy: (e, by) => (e.event === 'planned_handover' && by === spot) || (e.event === 'verdict_transition' && e['node'] === spot && e['to'] !== 'healthy'),
  });
  describeSpotAftermath(ctx, zoneA, spot);
  rows.push({ r: spotResult, then: 'handed over before the interruption; ASG replaces it after' });

  live.stop();
  out.step(7, 'Outages per scenario (outage = the longest gap between answers any app host of the zone saw, 20 ms probes)');
  out.say(summaryTable(rows));
  const unmeasured = rows.filter(({ r }) => !Number.isFinite(r.outageMs)).map(({ r }) => r.title);
  if (unmeasured.length) throw new Error(`the outage of ${unmeasured.join(', ')} could not be measured (an app host's probe stream failed; see above)`);
}

async function main(): Promise<number> {
  preflight();
  const topology = parseConfigText(topologySchema, '', 'default topology');
  const runDir = mkdtempSync(join(tmpdir(), 'natkeeper-demo-'));
  const labRunDir = join(runDir, 'lab');
  const labWarnings: string[] = [];
  let lab: RunningLab | undefined;
  let stopDemo: (() => Promise<void>) | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      out.clearLive();
      out.step(8, 'Tearing down: agents, the lab, every namespace, link and process it made');
      try {
        await stopDemo?.();
        await lab?.close();
      } finally {
        await teardownLab(PREFIX);
        rmSync(runDir, { recursive: true, force: true });
      }
    })());
  const onSignal = (sig: string) => {
    out.say(`\n${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  try {
    out.step(1, 'Bringing up the default lab: EC2 + Auto Scaling APIs, DynamoDB, and a network-namespace VPC (zones a, b, c)');
    lab = await startLab({ topology, runDir: labRunDir, prefix: PREFIX, dataPlane: 'auto', log: createLogger({ level: 'warn', write: (line) => labWarnings.push(line) }) });
    if (!lab.dataPlane) throw new Error(`no data plane: ${lab.dataPlaneNote}. The demo needs root and network namespaces: run \`sudo make demo\``);
    await lab.dataPlane.settled();
    out.say(`EC2 API at ${lab.endpoints.ec2}, DynamoDB at ${lab.endpoints.dynamodb}, namespaces ${PREFIX}*`);
    showTopology(lab);
    await runDemo(lab, { agents: runDir, lab: labRunDir }, labWarnings, (stop) => (stopDemo = stop));
  } finally {
    await cleanup();
  }
  out.say(`done in ${out.elapsed().slice(1)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    out.clearLive();
    console.error(`\ndemo failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
