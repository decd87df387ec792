// The one attribute the lab's Modify*Attribute actions change: the
// source/destination check, which a NAT must turn off to forward packets.

import { ApiError } from '../errors.js';
import { readAttributeBoolean, shown } from '../query/params.js';
import type { QueryParams } from '../query/types.js';

// Parameters every call carries, or that name the resource rather than an attribute.
const NOT_ATTRIBUTES = new Set(['Action', 'Version', 'DryRun', 'InstanceId', 'NetworkInterfaceId']);

/** SourceDestCheck.Value (or Attribute=sourceDestCheck&Value=…); any other attribute is unsupported here. */
export function readSourceDestCheck(params: QueryParams): boolean {
  const value = readAttributeBoolean(params, 'SourceDestCheck');
  if (value !== undefined) return value;
  const other = Object.keys(params).find((k) => !NOT_ATTRIBUTES.has(k));
  if (other !== undefined) throw new ApiError('UnsupportedOperation', `The lab can only modify sourceDestCheck, not ${shown(other)}.`);
  throw new ApiError('InvalidParameterCombination', 'No attributes specified.');
}
