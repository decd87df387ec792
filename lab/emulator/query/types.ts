// The contract between the lab's HTTP server and the action handlers of each
// emulated AWS Query-protocol service (EC2, Auto Scaling).
import type { LabStore } from '../store.js';
import type { XmlFragment } from './xml.js';

/** A Query request's parameters, flat as sent: "Filter.1.Name" → "vpc-id". */
export type QueryParams = Record<string, string>;

/**
 * A response body as data. Objects become elements (keys are element names, in
 * order), arrays become lists (each entry wrapped in the service's list element:
 * <item> for EC2, <member> for Auto Scaling), undefined/null are left out.
 * An XmlFragment is content serialized earlier (a cached record).
 */
export type XmlValue = string | number | boolean | null | undefined | XmlFragment | XmlValue[] | { [element: string]: XmlValue };

export interface RequestContext {
  requestId: string;
  store: LabStore;
}

export type ActionHandler = (params: QueryParams, ctx: RequestContext) => XmlValue | Promise<XmlValue>;

export interface ActionDefinition {
  handler: ActionHandler;
  /** Mutating calls draw from EC2's mutating token bucket and get the mutating latency. */
  mutating: boolean;
}

export interface ServiceDefinition {
  name: 'ec2' | 'autoscaling';
  /** The Query API version the SDK sends in `Version=`. */
  version: string;
  xmlns: string;
  /** How lists are wrapped: EC2 uses <item>, Auto Scaling <member>. */
  listItem: 'item' | 'member';
  /** EC2 puts fields directly under <XResponse>; awsQuery services wrap them in <XResult>. */
  wrapResult: boolean;
  actions: Record<string, ActionDefinition>;
}
