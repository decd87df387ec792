// EC2 resource IDs in requests: format checks with AWS's ".Malformed" codes
// and, for Describe calls, AWS's ".NotFound" errors naming every unknown ID.

import { ApiError } from '../errors.js';
import { readList, requireString, shown } from '../query/params.js';
import type { QueryParams } from '../query/types.js';

export interface IdKind {
  prefix: string;
  /** How AWS's messages name the resource: "The routeTable ID 'rtb-…' does not exist". */
  noun: string;
  notFound: string;
  /** AWS's code for a badly formed ID; kinds without one report NotFound instead. */
  malformed?: string;
}

// AWS's codes, with their inconsistent capitalisation ("Id" vs "ID") as documented.
export const ID_KINDS = {
  vpc: { prefix: 'vpc', noun: 'vpc', notFound: 'InvalidVpcID.NotFound', malformed: 'InvalidVpcID.Malformed' },
  subnet: { prefix: 'subnet', noun: 'subnet', notFound: 'InvalidSubnetID.NotFound', malformed: 'InvalidSubnetID.Malformed' },
  routeTable: { prefix: 'rtb', noun: 'routeTable', notFound: 'InvalidRouteTableID.NotFound', malformed: 'InvalidRouteTableId.Malformed' },
  instance: { prefix: 'i', noun: 'instance', notFound: 'InvalidInstanceID.NotFound', malformed: 'InvalidInstanceID.Malformed' },
  networkInterface: {
    prefix: 'eni',
    noun: 'networkInterface',
    notFound: 'InvalidNetworkInterfaceID.NotFound',
    malformed: 'InvalidNetworkInterfaceId.Malformed',
  },
  attachment: {
    prefix: 'eni-attach',
    noun: 'attachment',
    notFound: 'InvalidAttachmentID.NotFound',
    malformed: 'InvalidNetworkInterfaceAttachmentId.Malformed',
  },
  allocation: { prefix: 'eipalloc', noun: 'allocation', notFound: 'InvalidAllocationID.NotFound' },
  association: { prefix: '', noun: 'association', notFound: 'InvalidAssociationID.NotFound' },
} as const satisfies Record<string, IdKind>;

/** prefix-XXXXXXXX or prefix-XXXXXXXXXXXXXXXXX (8 or 17 lowercase hex digits), AWS's two ID lengths. */
function isWellFormed(kind: IdKind, id: string): boolean {
  if (!kind.prefix) return true;
  const hex = id.startsWith(`${kind.prefix}-`) ? id.slice(kind.prefix.length + 1) : undefined;
  return hex !== undefined && /^([0-9a-f]{8}|[0-9a-f]{17})$/.test(hex);
}

export function checkId(kind: IdKind, id: string): string {
  if (isWellFormed(kind, id)) return id;
  if (kind.malformed) throw new ApiError(kind.malformed, `Invalid id: "${shown(id)}" (expecting "${kind.prefix}-...")`);
  throw notFoundError(kind, [id]);
}

export function notFoundError(kind: IdKind, ids: readonly string[]): ApiError {
  const list = ids.map((id) => shown(id)).join(', ');
  return new ApiError(kind.notFound, ids.length === 1 ? `The ${kind.noun} ID '${list}' does not exist` : `The ${kind.noun} IDs '${list}' do not exist`);
}

/** A required single ID parameter, format-checked. */
export function requireId(params: QueryParams, name: string, kind: IdKind): string {
  return checkId(kind, requireString(params, name));
}

/** An optional single ID parameter, format-checked. */
export function optionalId(params: QueryParams, name: string, kind: IdKind): string | undefined {
  const id = params[name];
  return id === undefined ? undefined : checkId(kind, id);
}

/** An ID list parameter ("InstanceId.N"), each format-checked, duplicates removed. */
export function readIds(params: QueryParams, name: string, kind: IdKind): string[] {
  return [...new Set(readList(params, name))].map((id) => checkId(kind, id));
}

/** The items with the given IDs (all of them when `ids` is empty); unknown IDs fail the whole call, as in EC2. */
export function selectByIds<T>(items: readonly T[], ids: readonly string[], idOf: (item: T) => string, kind: IdKind): readonly T[] {
  if (ids.length === 0) return items;
  const wanted = new Set(ids);
  const found = items.filter((item) => wanted.has(idOf(item)));
  if (found.length < wanted.size) {
    const have = new Set(found.map(idOf));
    throw notFoundError(
      kind,
      ids.filter((id) => !have.has(id)),
    );
  }
  return found;
}
