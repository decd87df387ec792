// Data-plane faults: what chaos verbs do to packets and processes. Each is
// reversible, and faults keyed by instance follow its ENIs when they move (the
// data plane calls back after every placement change).
//
//   kill / revive        links down + SIGKILL every process at once / links back up
//   hang / unhang        the instance stays up but forwards nothing (nft forward drop)
//   freeze / thaw        SIGSTOP / SIGCONT processes by pid or command-line pattern
//   partition / heal     drop traffic between two instances' addresses (router bridge table)
//   loss                 random drop on the instance's bridge ports, both directions (0 removes)
//   targetDown / Up      an echo target stops answering
//   delay                needs tc netem; refused with a clear reason when the kernel lacks it

import type { DataPlane } from '../netns/dataplane.js';
import { cmdlineOf, processState, run, runChecked, signalPids } from '../netns/exec.js';
import { NFT } from '../netns/names.js';
import { deleteTableScript, faultsRuleset, hangRuleset, targetsUpdate } from '../netns/nft.js';

/** A fault this machine cannot inject (e.g. delay without netem). */
export class FaultUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultUnsupportedError';
  }
}

export interface ActiveFaults {
  killed: string[];
  hung: string[];
  frozen: { instanceId: string; pids: number[] }[];
  partitions: { a: string; b: string }[];
  loss: { instanceId: string; pct: number }[];
  delay: { instanceId: string; ms: number }[];
  targetsDown: string[];
}

export class DataPlaneFaults {
  private readonly killed = new Set<string>();
  private readonly hung = new Set<string>();
  private readonly frozen = new Map<string, Set<number>>();
  private readonly partitions = new Map<string, { a: string; b: string }>();
  private readonly lossPct = new Map<string, number>();
  private readonly delayMs = new Map<string, number>();
  /** Router ports that carry a netem qdisc now, per instance. */
  private readonly delayPorts = new Map<string, string[]>();
  private readonly targetsDown = new Set<string>();
  /** The router's fault table is known to be empty (as the data plane builds it). */
  private routerFaultsClear = true;
  private netem: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

  constructor(private readonly dp: DataPlane) {
    dp.onPlacementChange(() => this.applyRouterFaults());
  }

  active(): ActiveFaults {
    // A kill ends when the instance leaves running (the data plane releases the hold).
    for (const id of this.killed) if (!this.dp.isHeldDown(id)) this.killed.delete(id);
    return {
      killed: [...this.killed],
      hung: [...this.hung],
      frozen: [...this.frozen].map(([instanceId, pids]) => ({ instanceId, pids: [...pids] })),
      partitions: [...this.partitions.values()],
      loss: [...this.lossPct].map(([instanceId, pct]) => ({ instanceId, pct })),
      delay: [...this.delayMs].map(([instanceId, ms]) => ({ instanceId, ms })),
      targetsDown: [...this.targetsDown],
    };
  }

  // ---- instance failure ----------------------------------------------------------

  /**
   * Hard failure: the instance's processes are SIGKILLed and its links go down at once.
   * Its EC2 state is the caller's business; the links come back when the instance starts
   * again (or on revive()).
   */
  async kill(instanceId: string): Promise<void> {
    this.killed.add(instanceId);
    this.frozen.delete(instanceId);
    await this.dp.killInstance(instanceId);
  }

  /** Undoes kill without an EC2 state change: links up again (if running), forwarders restarted. */
  async revive(instanceId: string): Promise<void> {
    this.killed.delete(instanceId);
    await this.dp.holdDown(instanceId, false);
  }

  /** The instance stays up (answers on its own addresses) but forwards nothing. */
  async hang(instanceId: string): Promise<void> {
    const ns = this.dp.requireNs(instanceId);
    await this.dp.enqueue(`hang ${instanceId}`, () => this.dp.nft(ns, hangRuleset()));
    this.hung.add(instanceId);
  }

  async unhang(instanceId: string): Promise<void> {
    const ns = this.dp.requireNs(instanceId);
    await this.dp.enqueue(`unhang ${instanceId}`, () => this.dp.nft(ns, deleteTableScript('inet', NFT.hang)));
    this.hung.delete(instanceId);
  }

  // ---- processes ------------------------------------------------------------------

  /** SIGSTOPs the instance's processes matching a pid or a command-line pattern (a regular expression). */
  async freeze(instanceId: string, which: string | number): Promise<string> {
    const pids = await this.match(instanceId, which);
    const hit = signalPids(pids, 'SIGSTOP');
    // A signal lands when the process next runs: wait (bounded) until it shows as stopped.
    await settleStates(hit, (s) => s === 'T' || s === 't' || s === 'Z' || s === undefined);
    const set = this.frozen.get(instanceId) ?? new Set<number>();
    for (const p of hit) set.add(p);
    this.frozen.set(instanceId, set);
    return `froze ${await this.describe(hit)}`;
  }

  /** SIGCONTs what freeze stopped (all of it, or the processes matching `which`). */
  async thaw(instanceId: string, which?: string | number): Promise<string> {
    const frozen = this.frozen.get(instanceId) ?? new Set<number>();
    const pids = which === undefined || which === '' ? [...frozen] : await this.match(instanceId, which);
    const hit = signalPids(pids, 'SIGCONT');
    await settleStates(hit, (s) => s !== 'T');
    for (const p of pids) frozen.delete(p);
    if (frozen.size === 0) this.frozen.delete(instanceId);
    return `thawed ${await this.describe(hit)}`;
  }

  private async match(instanceId: string, which: string | number): Promise<number[]> {
    const pids = (await this.dp.pidsOf(instanceId)).filter((p) => p !== process.pid);
    const text = String(which).trim();
    if (/^\d+$/.test(text)) {
      const pid = Number(text);
      if (!pids.includes(pid)) throw new Error(`process ${pid} does not run in instance ${instanceId}'s namespace`);
      return [pid];
    }
    let re: RegExp;
    try {
      re = new RegExp(text);
    } catch {
      throw new Error(`"${text}" is neither a pid nor a valid pattern`);
    }
    const matched: number[] = [];
    for (const pid of pids) if (re.test(await cmdlineOf(pid))) matched.push(pid);
    if (!matched.length) throw new Error(`no process in instance ${instanceId} matches "${text}"`);
    return matched;
  }

  private async describe(pids: number[]): Promise<string> {
    if (!pids.length) return 'no process';
    const parts = await Promise.all(pids.map(async (p) => `${p} (${(await cmdlineOf(p)).slice(0, 60) || '?'})`));
    return parts.join(', ');
  }

  // ---- network --------------------------------------------------------------------

  /** Drops all traffic between the two instances' addresses (same-subnet traffic too). */
  async partition(a: string, b: string): Promise<void> {
    if (a === b) throw new Error('partition needs two different instances');
    this.dp.requireNs(a);
    this.dp.requireNs(b);
    this.partitions.set(pairKey(a, b), { a, b });
    await this.dp.enqueue(`partition ${a} ${b}`, () => this.applyRouterFaults());
  }

  async heal(a: string, b: string): Promise<void> {
    this.partitions.delete(pairKey(a, b));
    await this.dp.enqueue(`heal ${a} ${b}`, () => this.applyRouterFaults());
  }

  /** Random loss of pct percent on every link of the instance, both directions; 0 removes it. */
  async loss(instanceId: string, pct: number): Promise<void> {
    if (!Number.isFinite(pct) || pct < 0 || pct > 100) throw new Error(`loss must be between 0 and 100 percent, got ${pct}`);
    this.dp.requireNs(instanceId);
    if (pct === 0) this.lossPct.delete(instanceId);
    else this.lossPct.set(instanceId, pct);
    await this.dp.enqueue(`loss ${instanceId} ${pct}`, () => this.applyRouterFaults());
  }

  /** Makes an echo target stop answering (its packets are dropped in the internet namespace). */
  async targetDown(ip: string): Promise<void> {
    this.checkTarget(ip);
    this.targetsDown.add(ip);
    await this.applyTargets();
  }

  async targetUp(ip: string): Promise<void> {
    this.checkTarget(ip);
    this.targetsDown.delete(ip);
    await this.applyTargets();
  }

  private checkTarget(ip: string): void {
    const targets = this.dp.topology.internet.echoTargets;
    if (!targets.includes(ip)) throw new Error(`${ip} is not an echo target of this lab (targets: ${targets.join(', ')})`);
  }

  private async applyTargets(): Promise<void> {
    const down = [...this.targetsDown].sort();
    await this.dp.enqueue('targets', () => this.dp.nft(this.dp.inetNs, targetsUpdate(down)));
  }

  /**
   * Adds ms of latency to the instance's links (netem on its router ports); 0 removes it.
   * This needs the kernel's netem qdisc: without it, the call fails with a FaultUnsupportedError.
   */
  async delay(instanceId: string, ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`delay must be a non-negative number of ms, got ${ms}`);
    this.dp.requireNs(instanceId);
    const netem = await this.netemAvailable();
    if (!netem.ok) throw new FaultUnsupportedError(`delay is not available on this machine: ${netem.reason}`);
    if (ms === 0) this.delayMs.delete(instanceId);
    else this.delayMs.set(instanceId, ms);
    await this.dp.enqueue(`delay ${instanceId} ${ms}`, () => this.applyDelays());
  }

  /** Detects netem at run time: tries to add a netem qdisc to a veth in a throwaway namespace. */
  netemAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
    this.netem ??= detectNetem(`${this.dp.prefix}netem`);
    return this.netem;
  }

  /** Removes every fault (what a lab reset does). */
  async clear(): Promise<void> {
    for (const id of [...this.killed]) await this.revive(id).catch(() => undefined);
    for (const id of [...this.hung]) await this.unhang(id).catch(() => undefined);
    for (const id of [...this.frozen.keys()]) await this.thaw(id).catch(() => undefined);
    this.partitions.clear();
    this.lossPct.clear();
    this.targetsDown.clear();
    this.delayMs.clear();
    await this.dp.enqueue('faults-clear', async () => {
      await this.applyRouterFaults();
      await this.dp.nft(this.dp.inetNs, targetsUpdate([]));
    });
  }

  /** Rebuilds the router's fault table from the current fault state and ENI placement (runs inside the queue). */
  private async applyRouterFaults(): Promise<void> {
    // Nothing set and nothing applied: an ENI move costs no nft call.
    const idle = !this.partitions.size && !this.lossPct.size;
    if (idle && this.routerFaultsClear && !this.delayMs.size && !this.delayPorts.size) return;
    const partitions: { a: string; b: string }[] = [];
    for (const { a, b } of this.partitions.values())
      for (const x of this.dp.addressesOf(a)) for (const y of this.dp.addressesOf(b)) partitions.push({ a: x, b: y });
    const loss = [...this.lossPct].map(([id, pct]) => ({ ports: this.dp.portsOf(id), pct }));
    await this.dp.nft(this.dp.routerNs, faultsRuleset({ partitions, loss }));
    this.routerFaultsClear = idle;
    if (this.delayMs.size || this.delayPorts.size) await this.applyDelays();
  }

  private async applyDelays(): Promise<void> {
    const router = this.dp.routerNs;
    const want = new Map<string, number>();
    for (const [id, ms] of this.delayMs) for (const p of this.dp.portsOf(id)) want.set(p, ms);
    for (const ports of this.delayPorts.values())
      for (const p of ports) if (!want.has(p)) await run(['tc', '-n', router, 'qdisc', 'del', 'dev', p, 'root'], { helper: true });
    this.delayPorts.clear();
    for (const [id, ms] of this.delayMs) {
      const ports = this.dp.portsOf(id);
      for (const p of ports) await runChecked(['tc', '-n', router, 'qdisc', 'replace', 'dev', p, 'root', 'netem', 'delay', `${ms}ms`], { helper: true });
      this.delayPorts.set(id, ports);
    }
  }
}

async function settleStates(pids: number[], done: (state: string | undefined) => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(pids.map((p) => processState(p)));
    if (states.every(done) || performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

async function detectNetem(ns: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const add = await run(['ip', 'netns', 'add', ns]);
  if (add.code !== 0) return { ok: false, reason: `could not create a namespace to test for netem: ${add.stderr.trim()}` };
  try {
    const link = await run(['ip', '-n', ns, 'link', 'add', 'nk0', 'type', 'veth', 'peer', 'name', 'nk1']);
    if (link.code !== 0) return { ok: false, reason: `could not create a veth to test for netem: ${link.stderr.trim()}` };
    const tc = await run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'nk0', 'root', 'netem', 'delay', '1ms']);
    if (tc.code === 127) return { ok: false, reason: 'tc is not installed (iproute2)' };
    if (tc.code !== 0)
      return {
        ok: false,
        reason: `this kernel has no netem qdisc (sch_netem): \`tc qdisc add … netem\` said "${tc.stderr.trim()}". Use loss instead, or run the lab on a kernel with netem.`,
      };
    return { ok: true };
  } finally {
    await run(['ip', 'netns', 'del', ns]);
  }
}
