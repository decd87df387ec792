// Lifecycle hooks: stored per group in store.lifecycleHooks, with AWS's
// defaults and limits (PutLifecycleHook creates or updates by name).

import { ApiError } from '../errors.js';
import type { AutoScalingGroup, LifecycleHook, LifecycleTransition } from '../model.js';
import type { LabStore } from '../store.js';
import { validationError } from './params.js';

/** A hook as the lab keeps it: the model's fields plus the optional ones PutLifecycleHook accepts. */
export interface LabLifecycleHook extends LifecycleHook {
  notificationMetadata?: string;
  notificationTargetARN?: string;
  roleARN?: string;
}

export const LIFECYCLE_TRANSITIONS: readonly LifecycleTransition[] = ['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING'];
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 3600;
export const MIN_HEARTBEAT_TIMEOUT_SECONDS = 30;
export const MAX_HEARTBEAT_TIMEOUT_SECONDS = 7200;
/** AWS: the global timeout is 100 × the heartbeat timeout or 48 hours, whichever is smaller. */
export const MAX_GLOBAL_TIMEOUT_SECONDS = 172_800;
export const MAX_HOOKS_PER_GROUP = 50;

export function groupNotFound(name: string): ApiError {
  return validationError(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
}

/** The group, or AWS's ValidationError for an unknown name. */
export function requireGroup(store: LabStore, name: string): AutoScalingGroup {
  const g = store.autoScalingGroups.get(name);
  if (!g) throw groupNotFound(name);
  return g;
}

export function hooksOf(store: LabStore, groupName: string, transition?: LifecycleTransition): LabLifecycleHook[] {
  const hooks = (store.lifecycleHooks.get(groupName) ?? []) as LabLifecycleHook[];
  return transition ? hooks.filter((h) => h.lifecycleTransition === transition) : [...hooks];
}

export interface PutLifecycleHookInput {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleTransition?: LifecycleTransition;
  heartbeatTimeoutSeconds?: number;
  defaultResult?: 'CONTINUE' | 'ABANDON';
  notificationMetadata?: string;
  notificationTargetARN?: string;
  roleARN?: string;
}

/** Creates the hook, or updates the fields given of an existing hook with that name. */
export function putLifecycleHook(store: LabStore, input: PutLifecycleHookInput): LabLifecycleHook {
  const group = requireGroup(store, input.autoScalingGroupName);
  if (!/^[A-Za-z0-9\-_/]{1,255}$/.test(input.lifecycleHookName))
    throw validationError(
      `1 validation error detected: Value '${input.lifecycleHookName}' at 'lifecycleHookName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\-_\\/]+`,
    );
  const hb = input.heartbeatTimeoutSeconds;
  if (hb !== undefined && (hb < MIN_HEARTBEAT_TIMEOUT_SECONDS || hb > MAX_HEARTBEAT_TIMEOUT_SECONDS))
    throw validationError(
      `Heartbeat timeout must be between ${MIN_HEARTBEAT_TIMEOUT_SECONDS} and ${MAX_HEARTBEAT_TIMEOUT_SECONDS} seconds, got ${hb}`,
    );
  const list = (store.lifecycleHooks.get(group.autoScalingGroupName) ?? []) as LabLifecycleHook[];
  const existing = list.find((h) => h.lifecycleHookName === input.lifecycleHookName);
  if (!existing) {
    if (!input.lifecycleTransition)
      throw validationError(`LifecycleTransition is required when creating the lifecycle hook ${input.lifecycleHookName}`);
    if (list.length >= MAX_HOOKS_PER_GROUP)
      throw new ApiError('LimitExceeded', `Auto Scaling group ${group.autoScalingGroupName} already has the maximum of ${MAX_HOOKS_PER_GROUP} lifecycle hooks`);
  }
  const heartbeat = hb ?? existing?.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS;
  const hook: LabLifecycleHook = {
    lifecycleHookName: input.lifecycleHookName,
    autoScalingGroupName: group.autoScalingGroupName,
    lifecycleTransition: input.lifecycleTransition ?? existing!.lifecycleTransition,
    heartbeatTimeoutSeconds: heartbeat,
    defaultResult: input.defaultResult ?? existing?.defaultResult ?? 'ABANDON',
    globalTimeoutSeconds: Math.min(100 * heartbeat, MAX_GLOBAL_TIMEOUT_SECONDS),
  };
  const meta = input.notificationMetadata ?? existing?.notificationMetadata;
  if (meta !== undefined) hook.notificationMetadata = meta;
  const target = input.notificationTargetARN ?? existing?.notificationTargetARN;
  if (target !== undefined) hook.notificationTargetARN = target;
  const role = input.roleARN ?? existing?.roleARN;
  if (role !== undefined) hook.roleARN = role;
  const next = existing ? list.map((h) => (h === existing ? hook : h)) : [...list, hook];
  store.lifecycleHooks.set(group.autoScalingGroupName, next);
  store.asgChanged(group.autoScalingGroupName);
  return { ...hook };
}

/** Deletes a hook; AWS's ValidationError when there is none by that name. */
export function deleteLifecycleHook(store: LabStore, groupName: string, hookName: string): void {
  const group = requireGroup(store, groupName);
  const list = store.lifecycleHooks.get(group.autoScalingGroupName) ?? [];
  if (!list.some((h) => h.lifecycleHookName === hookName))
    throw validationError(`No Lifecycle Hook found with name ${hookName} for group ${groupName}`);
  store.lifecycleHooks.set(
    group.autoScalingGroupName,
    list.filter((h) => h.lifecycleHookName !== hookName),
  );
  store.asgChanged(group.autoScalingGroupName);
}
