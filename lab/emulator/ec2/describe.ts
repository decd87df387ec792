// The steps every Describe* action shares: select by ID list, filter, page.

import { ApiError } from '../errors.js';
import type { Tag } from '../model.js';
import { compileFilters, type FilterFields } from '../query/filters.js';
import { paginate, type Page, type PageBounds } from '../query/pagination.js';
import { readFilters } from '../query/params.js';
import type { QueryParams } from '../query/types.js';
import { readIds, selectByIds, type IdKind } from './ids.js';

export interface DescribeSpec<T> {
  action: string;
  /** The resource ID: the pagination key. */
  idOf: (item: T) => string;
  /** The ID-list parameter ("RouteTableId" for RouteTableId.N) and its kind, for format and NotFound errors. */
  ids?: { param: string; kind: IdKind; excludesMaxResults?: boolean };
  /** Applied after the ID selection: what the action shows at all (DescribeInstanceStatus: running only). */
  where?: (item: T) => boolean;
  filters: FilterFields<T>;
  /** Enables tag:KEY, tag-key and tag-value. */
  tagsOf?: (item: T) => readonly Tag[];
  /** MaxResults bounds; undefined for actions without pagination (DescribeAddresses). */
  page?: PageBounds;
}

export function describeResources<T>(items: readonly T[], params: QueryParams, spec: DescribeSpec<T>): Page<T> {
  let selected = items;
  if (spec.ids) {
    const ids = readIds(params, spec.ids.param, spec.ids.kind);
    // AWS refuses e.g. InstanceId.N with MaxResults: an explicit list is not paged.
    if (spec.ids.excludesMaxResults && ids.length > 0 && params.MaxResults !== undefined)
      throw new ApiError('InvalidParameterCombination', `The parameter ${spec.ids.param} cannot be used with the parameter MaxResults`);
    selected = selectByIds(items, ids, spec.idOf, spec.ids.kind);
  }
  const matches = compileFilters(readFilters(params), spec.filters, spec.tagsOf);
  const where = spec.where;
  const filtered = selected.filter((item) => (!where || where(item)) && matches(item));
  return spec.page ? paginate(filtered, spec.idOf, params, spec.action, spec.page) : { items: filtered };
}
