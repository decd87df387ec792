// Carries out chaos requests against a running lab and keeps a timestamped log of them.

import { appendFileSync } from 'node:fs';
import type { Logger } from '../../src/telemetry/logger.js';
import type { LabStore } from '../emulator/store.js';
import type { NoticeBoard } from '../emulator/events/notices.js';
import type { DataPlane } from '../netns/dataplane.js';
import { resolveInstanceRef } from '../instance-ref.js';
import type { ChaosLogEntry, ChaosRequest } from './verbs.js';

/** The runtime knobs of the API server's realism that chaos turns. */
export interface RealismKnobs {
  setErrorRate(rate: number): void;
  setActionLatency(action: string, ms: number): void;
}

export class ChaosError extends Error {}

export interface ChaosRunnerOptions {
  store: LabStore;
  dataPlane: DataPlane | undefined;
  notices: NoticeBoard;
  killStateDelayMs: number;
  log: Logger;
  /** Also append each entry to this file (the lab's chaos log). */
  logFile?: string;
}

export class ChaosRunner {
  private realism: RealismKnobs | undefined;
  private readonly entries: ChaosLogEntry[] = [];

  constructor(private readonly opts: ChaosRunnerOptions) {}

  attachRealism(knobs: RealismKnobs): void {
    this.realism = knobs;
  }

  history(): ChaosLogEntry[] {
    return [...this.entries];
  }

  /** Runs one request; throws ChaosError (nothing changed) when it cannot be done. */
  async run(req: ChaosRequest): Promise<ChaosLogEntry> {
    const { verb, ...args } = req;
    try {
      const detail = await this.apply(req);
      return this.record({ time: new Date(this.opts.store.clock.now()).toISOString(), verb, args, outcome: 'done', ...(detail ? { detail } : {}) });
    } catch (err) {
      this.record({ time: new Date(this.opts.store.clock.now()).toISOString(), verb, args, outcome: 'refused', detail: (err as Error).message });
      throw err instanceof ChaosError ? err : new ChaosError((err as Error).message);
    }
  }

  private record(entry: ChaosLogEntry): ChaosLogEntry {
    this.entries.push(entry);
    if (this.entries.length > 1000) this.entries.shift();
    this.opts.log.info('lab.chaos', { ...entry });
    if (this.opts.logFile) appendFileSync(this.opts.logFile, JSON.stringify(entry) + '\n');
    return entry;
  }

  private instance(ref: string): string {
    try {
      return resolveInstanceRef(this.opts.store, ref);
    } catch (err) {
      throw new ChaosError((err as Error).message);
    }
  }

  private faults() {
    const dp = this.opts.dataPlane;
    if (!dp) throw new ChaosError('this fault needs the data plane, and this lab runs without one (not root?)');
    return dp.faults;
  }

  private async apply(req: ChaosRequest): Promise<string | undefined> {
    const store = this.opts.store;
    switch (req.verb) {
      case 'kill': {
        const id = this.instance(req.instance);
        const state = store.instance(id).state;
        if (state !== 'running' && state !== 'pending') throw new ChaosError(`instance ${id} is ${state}, not running`);
        if (this.opts.dataPlane) await this.faults().kill(id);
        // EC2 notices a dead host only later; then the instance shows as stopped.
        store.schedule(this.opts.killStateDelayMs, () => {
          const now = store.instances.get(id)?.state;
          if (now === 'running' || now === 'pending') store.stopInstance(id, 'Server.InternalError: the host failed (lab chaos kill)');
        });
        return `links down and processes killed now; EC2 state follows in ${this.opts.killStateDelayMs} ms`;
      }
      case 'hang':
        await this.faults().hang(this.instance(req.instance));
        return undefined;
      case 'unhang':
        await this.faults().unhang(this.instance(req.instance));
        return undefined;
      case 'freeze':
        return await this.faults().freeze(this.instance(req.instance), req.process);
      case 'thaw':
        return await this.faults().thaw(this.instance(req.instance), req.process);
      case 'partition':
        await this.faults().partition(this.instance(req.a), this.instance(req.b));
        return undefined;
      case 'heal':
        await this.faults().heal(this.instance(req.a), this.instance(req.b));
        return undefined;
      case 'loss':
        await this.faults().loss(this.instance(req.instance), req.pct);
        return undefined;
      case 'delay':
        await this.faults().delay(this.instance(req.instance), req.ms);
        return undefined;
      case 'target-down':
        await this.faults().targetDown(req.ip);
        return undefined;
      case 'target-up':
        await this.faults().targetUp(req.ip);
        return undefined;
      case 'spot-interrupt': {
        const id = this.instance(req.instance);
        this.opts.notices.spotInterrupt(id, req.action);
        return `Spot interruption warning sent; the instance is ${req.action === 'stop' ? 'stopped' : 'terminated'} in 2 minutes`;
      }
      case 'rebalance':
        this.opts.notices.rebalance(this.instance(req.instance));
        return undefined;
      case 'api-errors':
        this.knobs().setErrorRate(req.rate);
        return undefined;
      case 'api-latency':
        this.knobs().setActionLatency(req.action, req.ms);
        return undefined;
    }
  }

  private knobs(): RealismKnobs {
    if (!this.realism) throw new ChaosError('the API server is not running');
    return this.realism;
  }
}
