// The last N API calls, for `natkeeper lab` status, tests and post-mortems.
// Bounded in entries and in bytes per entry: fuzzed or hostile requests can
// carry 100,000 parameters or megabyte values.

import type { QueryParams } from './types.js';

export interface RequestLogEntry {
  /** Lab clock time (ms since the epoch) when the request arrived. */
  time: number;
  requestId: string;
  service?: string;
  action?: string;
  /** The action changes state (EC2's mutating category). */
  mutating?: boolean;
  /** The caller's access key ID, from the SigV4 Authorization header (per instance inside the lab: labAccessKeyIdOf). */
  accessKeyId?: string;
  /** The request's parameters, without credentials, values cut to 256 characters, at most 64 of them. */
  params: Record<string, string>;
  status: number;
  errorCode?: string;
  durationMs: number;
}

const MAX_PARAMS = 64;
const MAX_VALUE_CHARS = 256;
// Presigned-URL and legacy-signature parameters; SigV4 headers never reach the params.
const SECRET = /^(X-Amz-|AWSAccessKeyId$|Signature|SecurityToken$|Password$)/i;

export function redactParams(params: QueryParams): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  let n = 0;
  for (const key in params) {
    if (SECRET.test(key)) continue;
    if (n++ === MAX_PARAMS) {
      out['…'] = 'more parameters not logged';
      break;
    }
    const value = params[key]!;
    out[key.slice(0, MAX_VALUE_CHARS)] = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
  }
  return out;
}

/** The access key ID of a SigV4 `Authorization` header (`… Credential=AKID/date/region/service/aws4_request, …`). */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  const m = /Credential=([A-Za-z0-9]{1,128})\//.exec(authorization ?? '');
  return m?.[1];
}

/** A fixed-size ring buffer; the oldest entry goes first. */
export class RequestLog {
  private readonly ring: (RequestLogEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = 10_000) {
    this.ring = new Array<RequestLogEntry | undefined>(capacity);
  }

  add(entry: RequestLogEntry): void {
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Entries oldest first; with `last`, only the most recent `last`. */
  entries(last = this.count): RequestLogEntry[] {
    const n = Math.max(0, Math.min(last, this.count));
    const out: RequestLogEntry[] = [];
    for (let i = this.count - n; i < this.count; i++) {
      const slot = (this.next - this.count + i + this.capacity) % this.capacity;
      out.push(this.ring[slot]!);
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
