// StartInstances, StopInstances, TerminateInstances, RebootInstances.

import { ApiError, missingParameter } from '../errors.js';
import type { InstanceStateName } from '../model.js';
import { readBoolean } from '../query/params.js';
import type { ActionDefinition, QueryParams } from '../query/types.js';
import type { LabStore } from '../store.js';
import { ID_KINDS, notFoundError, readIds } from './ids.js';
import { instanceState, RETURN_TRUE } from './views.js';

type Transition = { from: InstanceStateName; to: InstanceStateName };

/** InstanceId.N, all of which must exist: EC2 fails the whole call, changing nothing, if one is unknown. */
function existingInstanceIds(params: QueryParams, store: LabStore): string[] {
  const ids = readIds(params, 'InstanceId', ID_KINDS.instance);
  if (ids.length === 0) throw missingParameter('InstanceId');
  const unknown = ids.filter((id) => !store.instances.get(id));
  if (unknown.length > 0) throw notFoundError(ID_KINDS.instance, unknown);
  return ids;
}

/** Applies a state change to each instance; the answer lists previous and current states. */
function changeStates(params: QueryParams, store: LabStore, change: (id: string) => Transition) {
  const ids = existingInstanceIds(params, store);
  return {
    instancesSet: ids.map((instanceId) => {
      const { from, to } = change(instanceId);
      return { instanceId, currentState: instanceState(to), previousState: instanceState(from) };
    }),
  };
}

// The state reasons EC2 records for calls made through the API.
const USER_SHUTDOWN = 'Client.UserInitiatedShutdown';

export const instanceStateActions: Record<string, ActionDefinition> = {
  StartInstances: {
    mutating: true,
    handler: (params, { store }) => changeStates(params, store, (id) => store.startInstance(id)),
  },

  StopInstances: {
    mutating: true,
    handler: (params, { store }) => {
      // Force skips the OS shutdown; the lab's stop has no OS step to skip, so it only validates it.
      readBoolean(params, 'Force');
      return changeStates(params, store, (id) => store.stopInstance(id, USER_SHUTDOWN));
    },
  },

  TerminateInstances: {
    mutating: true,
    handler: (params, { store }) => changeStates(params, store, (id) => store.terminateInstance(id, USER_SHUTDOWN)),
  },

  RebootInstances: {
    mutating: true,
    handler: (params, { store }) => {
      const ids = existingInstanceIds(params, store);
      const notRunning = ids.find((id) => store.instance(id).state !== 'running');
      if (notRunning)
        throw new ApiError('IncorrectInstanceState', `The instance '${notRunning}' is not in a state from which it can be rebooted.`);
      return RETURN_TRUE;
    },
  },
};
