// CreateTags, DeleteTags, DescribeTags.

import { ApiError, invalidParameter, missingParameter } from '../errors.js';
import type { FilterFields } from '../query/filters.js';
import { readList, readTags, shown } from '../query/params.js';
import type { ActionDefinition, QueryParams } from '../query/types.js';
import type { LabStore } from '../store.js';
import { describeResources } from './describe.js';
import { checkId, ID_KINDS, type IdKind } from './ids.js';
import { RETURN_TRUE } from './views.js';

const MAX_TAGS_PER_RESOURCE = 50;

/** The taggable resources the lab has, by ID prefix. */
const TAGGABLE: Record<string, { kind: IdKind; lookup: (store: LabStore, id: string) => { tags: { key: string }[] } | undefined }> = {
  vpc: { kind: ID_KINDS.vpc, lookup: (s, id) => s.vpcs.get(id) },
  subnet: { kind: ID_KINDS.subnet, lookup: (s, id) => s.subnets.get(id) },
  rtb: { kind: ID_KINDS.routeTable, lookup: (s, id) => s.routeTables.get(id) },
  i: { kind: ID_KINDS.instance, lookup: (s, id) => s.instances.get(id) },
  eni: { kind: ID_KINDS.networkInterface, lookup: (s, id) => s.networkInterfaces.get(id) },
  eipalloc: { kind: ID_KINDS.allocation, lookup: (s, id) => s.addresses.get(id) },
};

/** ResourceId.N, each an existing taggable resource; checked before anything changes. */
function resources(params: QueryParams, store: LabStore): { id: string; tagKeys: string[] }[] {
  const ids = [...new Set(readList(params, 'ResourceId'))];
  if (ids.length === 0) throw missingParameter('ResourceId');
  return ids.map((id) => {
    const prefix = id.slice(0, id.lastIndexOf('-'));
    const taggable = Object.hasOwn(TAGGABLE, prefix) ? TAGGABLE[prefix] : undefined;
    if (!taggable) throw new ApiError('InvalidID', `The ID '${shown(id)}' is not valid`);
    const record = taggable.lookup(store, checkId(taggable.kind, id));
    if (!record) throw new ApiError(taggable.kind.notFound, `The ${taggable.kind.noun} ID '${id}' does not exist`);
    return { id, tagKeys: record.tags.map((t) => t.key) };
  });
}

function checkTag(key: string, value: string): void {
  if (key.length === 0 || key.length > 128) throw invalidParameter(`Tag key '${shown(key)}' must be 1 to 128 characters long.`);
  if (key.toLowerCase().startsWith('aws:')) throw invalidParameter(`Tag keys starting with 'aws:' are reserved for internal use.`);
  if (value.length > 256) throw invalidParameter(`Tag value for key '${shown(key)}' must be at most 256 characters long.`);
}

interface TagRow {
  resourceId: string;
  resourceType: string;
  key: string;
  value: string;
}

const TAG_FILTERS: FilterFields<TagRow> = {
  key: (t) => t.key,
  value: (t) => t.value,
  'resource-id': (t) => t.resourceId,
  'resource-type': (t) => t.resourceType,
};

export const tagActions: Record<string, ActionDefinition> = {
  CreateTags: {
    mutating: true,
    handler: (params, { store }) => {
      const targets = resources(params, store);
      const tags = readTags(params);
      if (tags.length === 0) throw missingParameter('Tag');
      for (const t of tags) checkTag(t.key, t.value);
      for (const r of targets) {
        const keys = new Set([...r.tagKeys, ...tags.map((t) => t.key)]);
        if (keys.size > MAX_TAGS_PER_RESOURCE)
          throw new ApiError('TagLimitExceeded', `The maximum number of tags (${MAX_TAGS_PER_RESOURCE}) for resource ${r.id} has been reached.`);
      }
      for (const r of targets) store.setTags(r.id, tags);
      return RETURN_TRUE;
    },
  },

  DeleteTags: {
    mutating: true,
    handler: (params, { store }) => {
      const targets = resources(params, store);
      const tags = readTags(params, true);
      for (const r of targets) {
        // No Tag.N: delete every tag the user can delete (aws: tags belong to AWS).
        const remove = tags.length > 0 ? tags : r.tagKeys.filter((k) => !k.startsWith('aws:')).map((key) => ({ key }));
        store.deleteTags(r.id, remove);
      }
      return RETURN_TRUE;
    },
  },

  DescribeTags: {
    mutating: false,
    handler: (params, { store }) => {
      const rows: TagRow[] = store
        .allTagged()
        .flatMap((r) => r.tags.map((t) => ({ resourceId: r.resourceId, resourceType: r.resourceType, key: t.key, value: t.value })));
      const page = describeResources(rows, params, {
        action: 'DescribeTags',
        // Unique per row; the NUL keeps "rtb-1"+"a" and "rtb-1a"+"" apart.
        idOf: (t) => `${t.resourceId}\u0000${t.key}`,
        filters: TAG_FILTERS,
        tagsOf: (t) => [t],
        page: { min: 5, max: 1000 },
      });
      return {
        tagSet: page.items.map((t) => ({ resourceId: t.resourceId, resourceType: t.resourceType, key: t.key, value: t.value })),
        nextToken: page.nextToken,
      };
    },
  },
};
