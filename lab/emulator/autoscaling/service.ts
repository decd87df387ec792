// The Auto Scaling Query API (awsQuery, Version 2011-01-01): the actions
// natkeeper and operators use on NAT groups. Element names are the ones
// @aws-sdk/client-auto-scaling v3 reads (its schemas: AutoScalingGroup,
// Instance, AutoScalingInstanceDetails, LifecycleHook, TagDescription).
// Reads come from store.autoScalingGroups; changes go through the group
// controller (controller.ts), which must be running for them.

import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import type { AsgInstance, AutoScalingGroup, LifecycleTransition } from '../model.js';
import type { ActionDefinition, QueryParams, RequestContext, ServiceDefinition, XmlValue } from '../query/types.js';
import type { LabStore } from '../store.js';
import { controllerFor, type AutoScalingController, type LifecycleActionRef } from './controller.js';
import { LIFECYCLE_TRANSITIONS, deleteLifecycleHook, hooksOf, putLifecycleHook, requireGroup } from './hooks.js';
import {
  filterList,
  memberList,
  optionalBoolean,
  optionalEnum,
  optionalInt,
  optionalString,
  paginate,
  requiredString,
  validationError,
  type QueryFilter,
} from './params.js';

const NAME_MAX = 255;
const INSTANCE_ID_MAX = 19;
const TOKEN_MAX = 36;
const RESULTS = ['CONTINUE', 'ABANDON'] as const;

// ---- XML shapes -----------------------------------------------------------------

function instanceXml(m: AsgInstance): XmlValue {
  return {
    InstanceId: m.instanceId,
    InstanceType: m.instanceType,
    AvailabilityZone: m.availabilityZone,
    LifecycleState: m.lifecycleState,
    HealthStatus: m.healthStatus,
    ProtectedFromScaleIn: m.protectedFromScaleIn,
  };
}

function groupXml(g: AutoScalingGroup, includeInstances: boolean): XmlValue {
  return {
    AutoScalingGroupName: g.autoScalingGroupName,
    AutoScalingGroupARN: g.autoScalingGroupARN,
    MinSize: g.minSize,
    MaxSize: g.maxSize,
    DesiredCapacity: g.desiredCapacity,
    DefaultCooldown: 300,
    AvailabilityZones: [...g.availabilityZones],
    LoadBalancerNames: [],
    TargetGroupARNs: [],
    HealthCheckType: g.healthCheckType,
    HealthCheckGracePeriod: g.healthCheckGracePeriod,
    Instances: includeInstances ? g.instances.map(instanceXml) : [],
    CreatedTime: g.createdTime,
    SuspendedProcesses: [],
    VPCZoneIdentifier: g.vpcZoneIdentifier,
    EnabledMetrics: [],
    Tags: g.tags.map((t) => ({
      ResourceId: g.autoScalingGroupName,
      ResourceType: 'auto-scaling-group',
      Key: t.key,
      Value: t.value,
      PropagateAtLaunch: true,
    })),
    TerminationPolicies: ['Default'],
    NewInstancesProtectedFromScaleIn: false,
    ServiceLinkedRoleARN: `arn:aws:iam::${g.autoScalingGroupARN.split(':')[4]}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: false,
  };
}

// ---- helpers ------------------------------------------------------------------------

function controller(store: LabStore): AutoScalingController {
  const c = controllerFor(store);
  if (!c) throw new ApiError('InternalFailure', 'The lab Auto Scaling group controller is not running.', 500);
  return c;
}

const TAG_FILTERS = ['tag-key', 'tag-value'];

function matchesFilters(g: AutoScalingGroup, filters: QueryFilter[]): boolean {
  return filters.every((f) => {
    if (f.name === 'tag-key') return g.tags.some((t) => f.values.includes(t.key));
    if (f.name === 'tag-value') return g.tags.some((t) => f.values.includes(t.value));
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      return g.tags.some((t) => t.key === key && f.values.includes(t.value));
    }
    return false;
  });
}

function lifecycleActionRef(p: QueryParams): LifecycleActionRef {
  const ref: LifecycleActionRef = {
    lifecycleHookName: requiredString(p, 'LifecycleHookName', NAME_MAX),
    autoScalingGroupName: requiredString(p, 'AutoScalingGroupName', NAME_MAX),
  };
  const token = optionalString(p, 'LifecycleActionToken', TOKEN_MAX);
  const instanceId = optionalString(p, 'InstanceId', INSTANCE_ID_MAX);
  if (token !== undefined) ref.lifecycleActionToken = token;
  if (instanceId !== undefined) ref.instanceId = instanceId;
  return ref;
}

const action = (mutating: boolean, handler: (p: QueryParams, ctx: RequestContext) => XmlValue): ActionDefinition => ({ mutating, handler });

// ---- actions ------------------------------------------------------------------------

const describeAutoScalingGroups = action(false, (p, { store }) => {
  const names = memberList(p, 'AutoScalingGroupNames');
  const filters = filterList(p);
  for (const f of filters)
    if (!TAG_FILTERS.includes(f.name) && !f.name.startsWith('tag:'))
      throw validationError(`Filter name '${f.name}' is not valid. Valid filter names: tag-key, tag-value, tag:<key>`);
  const includeInstances = optionalBoolean(p, 'IncludeInstances') ?? true;
  // Unknown names are left out of the answer, as AWS does; the order is by name (paginate sorts).
  const groups = [...store.autoScalingGroups.values()]
    .filter((g) => names.length === 0 || names.includes(g.autoScalingGroupName))
    .filter((g) => matchesFilters(g, filters));
  const { page, nextToken } = paginate('DescribeAutoScalingGroups', groups, (g) => g.autoScalingGroupName, p, 100);
  return { AutoScalingGroups: page.map((g) => groupXml(g, includeInstances)), NextToken: nextToken };
});

const describeAutoScalingInstances = action(false, (p, { store }) => {
  const ids = memberList(p, 'InstanceIds');
  const rows: { InstanceId: string; [element: string]: XmlValue }[] = [];
  for (const g of store.autoScalingGroups.values())
    for (const m of g.instances)
      if (ids.length === 0 || ids.includes(m.instanceId))
        rows.push({
          InstanceId: m.instanceId,
          InstanceType: m.instanceType,
          AutoScalingGroupName: g.autoScalingGroupName,
          AvailabilityZone: m.availabilityZone,
          LifecycleState: m.lifecycleState,
          HealthStatus: m.healthStatus.toUpperCase(),
          ProtectedFromScaleIn: m.protectedFromScaleIn,
        });
  const { page, nextToken } = paginate('DescribeAutoScalingInstances', rows, (r) => r.InstanceId, p, 50);
  return { AutoScalingInstances: page, NextToken: nextToken };
});

const setInstanceHealth = action(true, (p, { store }) => {
  const instanceId = requiredString(p, 'InstanceId', INSTANCE_ID_MAX);
  const status = requiredString(p, 'HealthStatus', 32);
  if (status !== 'Healthy' && status !== 'Unhealthy')
    throw validationError(`Valid values for HealthStatus are 'Healthy' and 'Unhealthy', got '${status}'`);
  const respect = optionalBoolean(p, 'ShouldRespectGracePeriod') ?? true;
  controller(store).setInstanceHealth(instanceId, status, respect);
  // SetInstanceHealth has no output: the response carries the metadata alone.
  return undefined;
});

const describeLifecycleHooks = action(false, (p, { store }) => {
  const groupName = requiredString(p, 'AutoScalingGroupName', NAME_MAX);
  requireGroup(store, groupName);
  const names = memberList(p, 'LifecycleHookNames');
  const hooks = hooksOf(store, groupName).filter((h) => names.length === 0 || names.includes(h.lifecycleHookName));
  return {
    LifecycleHooks: hooks.map((h) => ({
      LifecycleHookName: h.lifecycleHookName,
      AutoScalingGroupName: h.autoScalingGroupName,
      LifecycleTransition: h.lifecycleTransition,
      NotificationTargetARN: h.notificationTargetARN,
      RoleARN: h.roleARN,
      NotificationMetadata: h.notificationMetadata,
      HeartbeatTimeout: h.heartbeatTimeoutSeconds,
      GlobalTimeout: h.globalTimeoutSeconds,
      DefaultResult: h.defaultResult,
    })),
  };
});

const putLifecycleHookAction = action(true, (p, { store }) => {
  const transition = optionalString(p, 'LifecycleTransition');
  if (transition !== undefined && !(LIFECYCLE_TRANSITIONS as readonly string[]).includes(transition))
    throw validationError(`Invalid Lifecycle Transition '${transition}'. Valid values: ${LIFECYCLE_TRANSITIONS.join(', ')}`);
  const heartbeat = optionalInt(p, 'HeartbeatTimeout', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const defaultResult = optionalEnum(p, 'DefaultResult', RESULTS);
  const metadata = optionalString(p, 'NotificationMetadata', 1023);
  const target = optionalString(p, 'NotificationTargetARN', 1600);
  const role = optionalString(p, 'RoleARN', 1600);
  putLifecycleHook(store, {
    autoScalingGroupName: requiredString(p, 'AutoScalingGroupName', NAME_MAX),
    lifecycleHookName: requiredString(p, 'LifecycleHookName', NAME_MAX),
    ...(transition !== undefined ? { lifecycleTransition: transition as LifecycleTransition } : {}),
    ...(heartbeat !== undefined ? { heartbeatTimeoutSeconds: heartbeat } : {}),
    ...(defaultResult !== undefined ? { defaultResult } : {}),
    ...(metadata !== undefined ? { notificationMetadata: metadata } : {}),
    ...(target !== undefined ? { notificationTargetARN: target } : {}),
    ...(role !== undefined ? { roleARN: role } : {}),
  });
  return {};
});

const deleteLifecycleHookAction = action(true, (p, { store }) => {
  deleteLifecycleHook(store, requiredString(p, 'AutoScalingGroupName', NAME_MAX), requiredString(p, 'LifecycleHookName', NAME_MAX));
  return {};
});

const completeLifecycleAction = action(true, (p, { store }) => {
  const ref = lifecycleActionRef(p);
  const result = requiredString(p, 'LifecycleActionResult', 8);
  if (result !== 'CONTINUE' && result !== 'ABANDON')
    throw validationError(`Valid values for LifecycleActionResult are CONTINUE and ABANDON, got '${result}'`);
  controller(store).completeLifecycleAction(ref, result);
  return {};
});

const recordLifecycleActionHeartbeat = action(true, (p, { store }) => {
  controller(store).recordLifecycleActionHeartbeat(lifecycleActionRef(p));
  return {};
});

const terminateInstanceInAutoScalingGroup = action(true, (p, { store }) => {
  const instanceId = requiredString(p, 'InstanceId', INSTANCE_ID_MAX);
  const decrement = optionalBoolean(p, 'ShouldDecrementDesiredCapacity');
  if (decrement === undefined) throw validationError("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null");
  const group = controller(store).terminateInstanceInAutoScalingGroup(instanceId, decrement);
  const now = new Date(store.clock.now()).toISOString();
  return {
    Activity: {
      ActivityId: randomUUID(),
      AutoScalingGroupName: group.autoScalingGroupName,
      Description: `Terminating EC2 instance: ${instanceId}`,
      Cause: `At ${now} instance ${instanceId} was taken out of service in response to a user request${decrement ? ', shrinking the capacity' : ''}.`,
      StartTime: now,
      StatusCode: 'InProgress',
      Progress: 0,
    },
  };
});

export const autoScalingService: ServiceDefinition = {
  name: 'autoscaling',
  version: '2011-01-01',
  xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
  listItem: 'member',
  wrapResult: true,
  actions: {
    DescribeAutoScalingGroups: describeAutoScalingGroups,
    DescribeAutoScalingInstances: describeAutoScalingInstances,
    SetInstanceHealth: setInstanceHealth,
    DescribeLifecycleHooks: describeLifecycleHooks,
    PutLifecycleHook: putLifecycleHookAction,
    DeleteLifecycleHook: deleteLifecycleHookAction,
    CompleteLifecycleAction: completeLifecycleAction,
    RecordLifecycleActionHeartbeat: recordLifecycleActionHeartbeat,
    TerminateInstanceInAutoScalingGroup: terminateInstanceInAutoScalingGroup,
  },
};
