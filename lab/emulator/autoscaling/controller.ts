// The Auto Scaling group controller: what AWS does behind the Auto Scaling API.
//
// - An instance that stops, terminates or is marked Unhealthy is taken out of
//   service (Terminating), terminated, and after group.replacementDelayMs a
//   replacement is launched so that the group's in-service + pending count is
//   back at desiredCapacity.
// - Lifecycle hooks: with an EC2_INSTANCE_LAUNCHING hook a new instance waits
//   in Pending:Wait (once EC2 says running) until CompleteLifecycleAction or the
//   heartbeat timeout; with an EC2_INSTANCE_TERMINATING hook a leaving instance
//   waits in Terminating:Wait before it is terminated. Each wait publishes the
//   EventBridge lifecycle action event with its LifecycleActionToken.
//
// All timing is on the store's clock (store.schedule), so unit tests drive it
// with a ManualClock. Group membership lives in store.autoScalingGroups; every
// change to it is announced with store.asgChanged.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../src/telemetry/logger.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { ApiError } from '../errors.js';
import { lifecycleActionEvent, originOf, type LabEvent } from '../events/shapes.js';
import type { AsgInstance, AutoScalingGroup, LifecycleTransition, Tag } from '../model.js';
import type { LabChange, LabStore } from '../store.js';
import { hooksOf, requireGroup, type LabLifecycleHook } from './hooks.js';
import { validationError } from './params.js';

export interface AutoScalingControllerOptions {
  store: LabStore;
  /** Where lifecycle action events go (an EventBus). */
  events?: { publish(event: LabEvent): void };
  /**
   * Called right after the group launched an instance (EC2 state pending), e.g.
   * to give a NAT its EIP and bootstrap its namespace. Errors are logged, never fatal.
   */
  onInstanceLaunched?: (instanceId: string, group: AutoScalingGroup) => void | Promise<void>;
  log?: Logger;
}

export type LifecycleActionResult = 'CONTINUE' | 'ABANDON';

/** Identifies a lifecycle action: by token, or by instance ID. */
export interface LifecycleActionRef {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken?: string;
  instanceId?: string;
}

interface Wait {
  groupName: string;
  instanceId: string;
  kind: 'launch' | 'terminate';
  hook: LabLifecycleHook;
  /** Hooks of the same transition still to run after this one. */
  rest: LabLifecycleHook[];
  token: string;
  deadline: number;
  globalDeadline: number;
  cancelTimer: () => void;
}

const LAUNCHING: LifecycleTransition = 'autoscaling:EC2_INSTANCE_LAUNCHING';
const TERMINATING: LifecycleTransition = 'autoscaling:EC2_INSTANCE_TERMINATING';

const isLeaving = (m: AsgInstance) => m.lifecycleState.startsWith('Terminat');

/** The running controller of each store, so the Query API handlers can reach it. */
const controllers = new WeakMap<LabStore, AutoScalingController>();

export function controllerFor(store: LabStore): AutoScalingController | undefined {
  return controllers.get(store);
}

export class AutoScalingController {
  private readonly store: LabStore;
  private readonly opts: AutoScalingControllerOptions;
  private readonly log: Logger;
  private readonly waits = new Map<string, Wait>();
  /** Replacement timers, with the group each will launch into. */
  private readonly replacementTimers = new Map<() => void, string>();
  private unwatch: (() => void) | undefined;

  constructor(opts: AutoScalingControllerOptions) {
    this.store = opts.store;
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
  }

  get running(): boolean {
    return this.unwatch !== undefined;
  }

  /** Starts watching the store, and brings every group to its desired state. */
  start(): void {
    if (this.unwatch) return;
    const other = controllers.get(this.store);
    if (other && other !== this) throw new Error('another AutoScalingController is already running on this store');
    controllers.set(this.store, this);
    this.unwatch = this.store.onChange((c) => this.onChange(c));
    for (const group of this.store.autoScalingGroups.values()) {
      for (const member of [...group.instances]) {
        const inst = this.store.instances.get(member.instanceId);
        if (!inst || inst.state === 'terminated') {
          this.takeOutOfService(group, member, 'instance is gone');
          this.removeMember(member.instanceId);
        }
        else if (inst.state !== 'running' && inst.state !== 'pending') this.takeOutOfService(group, member, `instance is ${inst.state}`);
        else if (member.lifecycleState === 'Pending' && inst.state === 'running') this.afterLaunch(group, member);
        // Waits left over from an earlier run (stop() drops their timers): start them again.
        else if (member.lifecycleState === 'Pending:Wait' && !this.waits.has(member.instanceId)) this.afterLaunch(group, member);
        else if (member.lifecycleState === 'Terminating:Wait' && !this.waits.has(member.instanceId)) this.beginTermination(group, member);
        else if (member.lifecycleState === 'Terminating' || member.lifecycleState === 'Terminating:Proceed') this.finishTermination(group, member);
      }
      const missing = group.desiredCapacity - this.activeCount(group) - this.pendingReplacements(group);
      for (let i = 0; i < missing; i++) this.scheduleReplacement(group);
    }
  }

  /** Stops watching and cancels every timer (waits and replacements stay as they are). */
  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    if (controllers.get(this.store) === this) controllers.delete(this.store);
    for (const w of this.waits.values()) w.cancelTimer();
    this.waits.clear();
    for (const cancel of this.replacementTimers.keys()) cancel();
    this.replacementTimers.clear();
  }

  // ---- what the Auto Scaling API asks for ---------------------------------------

  /** SetInstanceHealth. Unhealthy takes the instance out of service and replaces it. */
  setInstanceHealth(instanceId: string, status: 'Healthy' | 'Unhealthy', shouldRespectGracePeriod = true): void {
    const found = this.memberOf(instanceId);
    if (!found) throw validationError(`Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    const { group, member } = found;
    if (status === 'Unhealthy' && shouldRespectGracePeriod && group.healthCheckGracePeriod > 0) {
      const inst = this.store.instances.get(instanceId);
      const ageSeconds = inst ? Math.floor((this.store.clock.now() - Date.parse(inst.launchTime)) / 1000) : Infinity;
      if (ageSeconds < group.healthCheckGracePeriod)
        throw validationError(
          `The age of the instance (${ageSeconds} seconds) is less than the configured grace period of ${group.healthCheckGracePeriod} seconds`,
        );
    }
    // An instance on its way out stays on its way out.
    if (isLeaving(member)) return;
    if (status === 'Healthy') {
      if (member.healthStatus !== 'Healthy') {
        member.healthStatus = 'Healthy';
        this.changed(group);
      }
      return;
    }
    this.takeOutOfService(group, member, 'an instance health check (SetInstanceHealth) reported it Unhealthy');
  }

  /** CompleteLifecycleAction. */
  completeLifecycleAction(ref: LifecycleActionRef, result: LifecycleActionResult): void {
    const wait = this.findWait(ref);
    this.log.info('lab.asg.lifecycle-complete', { group: wait.groupName, node: wait.instanceId, hook: wait.hook.lifecycleHookName, result });
    this.resolveWait(wait, result);
  }

  /** RecordLifecycleActionHeartbeat: the wait gets another heartbeat timeout, capped by the global timeout. */
  recordLifecycleActionHeartbeat(ref: LifecycleActionRef): void {
    const wait = this.findWait(ref);
    const now = this.store.clock.now();
    wait.deadline = Math.min(now + wait.hook.heartbeatTimeoutSeconds * 1000, wait.globalDeadline);
    this.armWaitTimer(wait);
    const found = this.memberOf(wait.instanceId);
    if (found?.member.pendingHook) {
      found.member.pendingHook.deadline = wait.deadline;
      this.changed(found.group);
    }
  }

  /**
   * TerminateInstanceInAutoScalingGroup: takes the instance out (through any
   * terminating hook) and, unless the desired capacity is decremented, replaces it.
   */
  terminateInstanceInAutoScalingGroup(instanceId: string, shouldDecrementDesiredCapacity: boolean): AutoScalingGroup {
    const found = this.memberOf(instanceId);
    if (!found) throw validationError(`Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    const { group, member } = found;
    if (isLeaving(member)) return group;
    if (shouldDecrementDesiredCapacity) {
      if (group.desiredCapacity - 1 < group.minSize)
        throw validationError(
          `Currently, desiredSize equals minSize (${group.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
        );
      group.desiredCapacity -= 1;
      this.cancelWait(instanceId);
      this.beginTermination(group, member);
    } else {
      this.cancelWait(instanceId);
      this.scheduleReplacement(group);
      this.beginTermination(group, member);
    }
    return group;
  }

  /** The pending lifecycle action of an instance, if it waits on one (for status pages). */
  pendingAction(instanceId: string): { hookName: string; token: string; deadline: number; globalDeadline: number } | undefined {
    const w = this.waits.get(instanceId);
    return w ? { hookName: w.hook.lifecycleHookName, token: w.token, deadline: w.deadline, globalDeadline: w.globalDeadline } : undefined;
  }

  // ---- reacting to the store ------------------------------------------------------

  private onChange(c: LabChange): void {
    if (c.kind !== 'instance-state') return;
    try {
      const found = this.memberOf(c.instanceId);
      if (!found) return;
      const { group, member } = found;
      switch (c.to) {
        case 'running':
          if (member.lifecycleState === 'Pending') this.afterLaunch(group, member);
          break;
        case 'stopping':
        case 'stopped':
        case 'shutting-down':
          if (!isLeaving(member)) this.takeOutOfService(group, member, `instance is ${c.to}`);
          break;
        case 'terminated':
          if (!isLeaving(member)) this.takeOutOfService(group, member, 'instance terminated');
          this.removeMember(c.instanceId);
          break;
        case 'pending':
          break;
      }
    } catch (err) {
      // A listener that throws would surface in whatever API call changed the store.
      this.log.error('lab.asg.controller-error', { node: c.instanceId, error: err as Error });
    }
  }

  // ---- launching --------------------------------------------------------------------

  private afterLaunch(group: AutoScalingGroup, member: AsgInstance): void {
    const hooks = hooksOf(this.store, group.autoScalingGroupName, LAUNCHING);
    if (hooks.length > 0) {
      this.startWait(group, member, 'launch', hooks);
      return;
    }
    member.lifecycleState = 'InService';
    this.log.info('lab.asg.in-service', { group: group.autoScalingGroupName, node: member.instanceId });
    this.changed(group);
  }

  /**
   * One replacement's timer fired: launch one instance if in-service + pending is
   * below desiredCapacity. Each instance that went out has its own timer, so each
   * replacement comes replacementDelayMs after its own failure.
   */
  private replaceOne(groupName: string): void {
    const group = this.store.autoScalingGroups.get(groupName);
    if (!group || this.activeCount(group) >= group.desiredCapacity) return;
    try {
      this.launch(group);
    } catch (err) {
      // AWS retries failed launches; so does the lab, after the same delay.
      this.log.warn('lab.asg.launch-failed', { group: groupName, error: err as Error });
      this.scheduleReplacement(group);
    }
  }

  private launch(group: AutoScalingGroup): string {
    const subnetId = this.pickSubnet(group);
    const inst = this.store.launchInstance({
      subnetId,
      role: group.role,
      instanceType: group.instanceType,
      autoScalingGroupName: group.autoScalingGroupName,
      // The lab's launch template turns the check off for NATs, as its user data would.
      sourceDestCheck: group.role !== 'nat',
      tags: this.launchTags(group),
    });
    group.instances.push({
      instanceId: inst.instanceId,
      availabilityZone: inst.availabilityZone,
      lifecycleState: 'Pending',
      healthStatus: 'Healthy',
      instanceType: inst.instanceType,
      protectedFromScaleIn: false,
    });
    this.log.info('lab.asg.launched', { group: group.autoScalingGroupName, node: inst.instanceId, subnet: subnetId });
    this.changed(group);
    this.notifyLaunched(inst.instanceId, group);
    return inst.instanceId;
  }

  private notifyLaunched(instanceId: string, group: AutoScalingGroup): void {
    const cb = this.opts.onInstanceLaunched;
    if (!cb) return;
    const fail = (err: unknown) => this.log.error('lab.asg.on-launched-failed', { group: group.autoScalingGroupName, node: instanceId, error: err as Error });
    try {
      const r = cb(instanceId, group);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** The group's subnet in the zone with the fewest active instances (AWS balances across zones). */
  private pickSubnet(group: AutoScalingGroup): string {
    const subnets = group.vpcZoneIdentifier
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((id) => this.store.subnets.get(id))
      .filter((s) => s !== undefined);
    if (subnets.length === 0) throw new ApiError('ValidationError', `The subnet ID(s) '${group.vpcZoneIdentifier}' of group ${group.autoScalingGroupName} do not exist`);
    const load = (az: string) => group.instances.filter((m) => !isLeaving(m) && m.availabilityZone === az).length;
    return subnets.reduce((best, s) => (load(s.availabilityZone) < load(best.availabilityZone) ? s : best)).subnetId;
  }

  /** Tags the launch template would give: the group's tags, the role, a Name, and aws:autoscaling:groupName. */
  private launchTags(group: AutoScalingGroup): Tag[] {
    const tags = new Map<string, string>();
    for (const t of group.tags) tags.set(t.key, t.value);
    if (!tags.has('natkeeper:role')) tags.set('natkeeper:role', group.role);
    const zone = tags.get('natkeeper:zone');
    const prefix = zone ? `${group.role}-${zone}` : `${group.autoScalingGroupName}-`;
    let highest = 0;
    for (const inst of this.store.instances.values()) {
      const name = inst.tags.find((t) => t.key === 'Name')?.value;
      if (!name?.startsWith(prefix)) continue;
      const n = Number(name.slice(prefix.length));
      if (Number.isInteger(n) && n > highest) highest = n;
    }
    tags.set('Name', `${prefix}${highest + 1}`);
    tags.set('aws:autoscaling:groupName', group.autoScalingGroupName);
    return [...tags].map(([key, value]) => ({ key, value }));
  }

  // ---- taking instances out -------------------------------------------------------

  private takeOutOfService(group: AutoScalingGroup, member: AsgInstance, reason: string): void {
    if (isLeaving(member)) return;
    this.log.info('lab.asg.out-of-service', { group: group.autoScalingGroupName, node: member.instanceId, reason });
    this.cancelWait(member.instanceId);
    member.healthStatus = 'Unhealthy';
    this.scheduleReplacement(group);
    this.beginTermination(group, member);
  }

  private beginTermination(group: AutoScalingGroup, member: AsgInstance): void {
    delete member.pendingHook;
    const inst = this.store.instances.get(member.instanceId);
    const gone = !inst || inst.state === 'shutting-down' || inst.state === 'terminated';
    const hooks = gone ? [] : hooksOf(this.store, group.autoScalingGroupName, TERMINATING);
    if (hooks.length > 0) {
      this.startWait(group, member, 'terminate', hooks);
      return;
    }
    member.lifecycleState = 'Terminating';
    this.changed(group);
    this.finishTermination(group, member);
  }

  private finishTermination(group: AutoScalingGroup, member: AsgInstance): void {
    const inst = this.store.instances.get(member.instanceId);
    if (!inst || inst.state === 'terminated') {
      this.removeMember(member.instanceId);
      return;
    }
    if (inst.state !== 'shutting-down')
      this.store.terminateInstance(member.instanceId, `Client.UserInitiatedShutdown: terminated by Auto Scaling group ${group.autoScalingGroupName}`);
  }

  /** The instance is gone from EC2: it leaves the group's list (AWS shows Terminated briefly, then drops it). */
  private removeMember(instanceId: string): void {
    const found = this.memberOf(instanceId);
    if (!found) return;
    this.cancelWait(instanceId);
    found.member.lifecycleState = 'Terminated';
    found.group.instances = found.group.instances.filter((m) => m.instanceId !== instanceId);
    this.log.info('lab.asg.terminated', { group: found.group.autoScalingGroupName, node: instanceId });
    this.changed(found.group);
  }

  private scheduleReplacement(group: AutoScalingGroup): void {
    const name = group.autoScalingGroupName;
    const cancel = this.store.schedule(group.replacementDelayMs, () => {
      this.replacementTimers.delete(cancel);
      try {
        this.replaceOne(name);
      } catch (err) {
        this.log.error('lab.asg.controller-error', { group: name, error: err as Error });
      }
    });
    this.replacementTimers.set(cancel, name);
  }

  // ---- lifecycle hooks ------------------------------------------------------------

  private startWait(group: AutoScalingGroup, member: AsgInstance, kind: Wait['kind'], hooks: LabLifecycleHook[]): void {
    const [hook, ...rest] = hooks;
    if (!hook) return;
    const now = this.store.clock.now();
    const wait: Wait = {
      groupName: group.autoScalingGroupName,
      instanceId: member.instanceId,
      kind,
      hook,
      rest,
      token: randomUUID(),
      deadline: now + hook.heartbeatTimeoutSeconds * 1000,
      globalDeadline: now + hook.globalTimeoutSeconds * 1000,
      cancelTimer: () => {},
    };
    this.waits.set(member.instanceId, wait);
    this.armWaitTimer(wait);
    member.lifecycleState = kind === 'launch' ? 'Pending:Wait' : 'Terminating:Wait';
    member.pendingHook = { hookName: hook.lifecycleHookName, token: wait.token, deadline: wait.deadline };
    this.log.info('lab.asg.lifecycle-wait', { group: group.autoScalingGroupName, node: member.instanceId, hook: hook.lifecycleHookName, token: wait.token });
    this.changed(group);
    this.opts.events?.publish(
      lifecycleActionEvent(originOf(this.store), {
        token: wait.token,
        autoScalingGroupName: group.autoScalingGroupName,
        autoScalingGroupARN: group.autoScalingGroupARN,
        lifecycleHookName: hook.lifecycleHookName,
        instanceId: member.instanceId,
        transition: hook.lifecycleTransition,
        ...(hook.notificationMetadata !== undefined ? { notificationMetadata: hook.notificationMetadata } : {}),
      }),
    );
  }

  private armWaitTimer(wait: Wait): void {
    wait.cancelTimer();
    const due = Math.min(wait.deadline, wait.globalDeadline);
    wait.cancelTimer = this.store.schedule(Math.max(0, due - this.store.clock.now()), () => {
      if (this.waits.get(wait.instanceId) !== wait) return;
      this.log.info('lab.asg.lifecycle-timeout', { group: wait.groupName, node: wait.instanceId, hook: wait.hook.lifecycleHookName, result: wait.hook.defaultResult });
      try {
        this.resolveWait(wait, wait.hook.defaultResult);
      } catch (err) {
        this.log.error('lab.asg.controller-error', { group: wait.groupName, node: wait.instanceId, error: err as Error });
      }
    });
  }

  private cancelWait(instanceId: string): void {
    const w = this.waits.get(instanceId);
    if (!w) return;
    w.cancelTimer();
    this.waits.delete(instanceId);
  }

  private findWait(ref: LifecycleActionRef): Wait {
    requireGroup(this.store, ref.autoScalingGroupName);
    let wait: Wait | undefined;
    if (ref.lifecycleActionToken !== undefined) {
      wait = [...this.waits.values()].find((w) => w.token === ref.lifecycleActionToken);
      if (!wait || wait.groupName !== ref.autoScalingGroupName || wait.hook.lifecycleHookName !== ref.lifecycleHookName)
        throw validationError(`No active Lifecycle Action found with token ${ref.lifecycleActionToken}`);
    } else if (ref.instanceId !== undefined) {
      wait = this.waits.get(ref.instanceId);
      if (!wait || wait.groupName !== ref.autoScalingGroupName || wait.hook.lifecycleHookName !== ref.lifecycleHookName)
        throw validationError(`No active Lifecycle Action found with instance ID ${ref.instanceId}`);
    } else {
      throw validationError('Either LifecycleActionToken or InstanceId must be specified.');
    }
    return wait;
  }

  private resolveWait(wait: Wait, result: LifecycleActionResult): void {
    this.cancelWait(wait.instanceId);
    const found = this.memberOf(wait.instanceId);
    if (!found) return;
    const { group, member } = found;
    delete member.pendingHook;
    if (wait.kind === 'launch') {
      if (result === 'CONTINUE') {
        if (wait.rest.length > 0) return this.startWait(group, member, 'launch', wait.rest);
        member.lifecycleState = 'InService';
        this.log.info('lab.asg.in-service', { group: group.autoScalingGroupName, node: member.instanceId });
        this.changed(group);
        return;
      }
      // ABANDON at launch: the instance is terminated and another one launched.
      member.healthStatus = 'Unhealthy';
      member.lifecycleState = 'Terminating';
      this.changed(group);
      this.scheduleReplacement(group);
      this.finishTermination(group, member);
      return;
    }
    // Terminating: CONTINUE lets the other terminating hooks run, ABANDON skips them; either way it terminates.
    if (result === 'CONTINUE' && wait.rest.length > 0) return this.startWait(group, member, 'terminate', wait.rest);
    member.lifecycleState = 'Terminating:Proceed';
    this.changed(group);
    this.finishTermination(group, member);
  }

  // ---- helpers ----------------------------------------------------------------------

  private memberOf(instanceId: string): { group: AutoScalingGroup; member: AsgInstance } | undefined {
    for (const group of this.store.autoScalingGroups.values()) {
      const member = group.instances.find((m) => m.instanceId === instanceId);
      if (member) return { group, member };
    }
    return undefined;
  }

  private pendingReplacements(group: AutoScalingGroup): number {
    return [...this.replacementTimers.values()].filter((n) => n === group.autoScalingGroupName).length;
  }

  /** In service or on the way in: what counts towards desired capacity. */
  private activeCount(group: AutoScalingGroup): number {
    return group.instances.filter((m) => !isLeaving(m)).length;
  }

  private changed(group: AutoScalingGroup): void {
    this.store.asgChanged(group.autoScalingGroupName);
  }
}
