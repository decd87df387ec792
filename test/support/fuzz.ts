// Shared pieces of the API fuzz tests (test/integration/api-fuzz*.test.ts): the
// raw request a fuzzer sends and how, a snapshot of everything the APIs can
// show, the hostile values and request kinds every Query service gets, and the
// property loop that sends them, counts the answers and watches the store.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { LabStore } from '../../lab/emulator/store.js';

/** One hostile request: any body (text or bytes), any content type, to any path. */
export interface FuzzRequest {
  body: string | Uint8Array;
  /** No content-type header at all when undefined. */
  contentType?: string;
  /** "/" unless given; a GET carries its parameters here, after "?". */
  path?: string;
  method?: 'POST' | 'GET';
  /** What the request was, for failure messages. */
  note: string;
}

export interface FuzzAnswer {
  status: number;
  /** The x-amzn-requestid header. */
  requestId: string | null;
  text: string;
}

/** The request IDs the lab hands out (UUIDs). */
export const REQUEST_ID = /^[0-9a-f-]{36}$/;

/** Sends a request exactly as given: no default content type, no encoding of the body. */
export async function sendRaw(endpoint: string, req: FuzzRequest): Promise<FuzzAnswer> {
  const method = req.method ?? 'POST';
  const res = await fetch(`${endpoint}${req.path ?? '/'}`, {
    method,
    headers: req.contentType === undefined ? {} : { 'content-type': req.contentType },
    ...(method === 'GET' ? {} : { body: req.body }),
  });
  return { status: res.status, requestId: res.headers.get('x-amzn-requestid'), text: await res.text() };
}

/** Everything Describe could show, as data: equal snapshots mean an unchanged store. */
export function snapshot(store: LabStore): string {
  return JSON.stringify({
    vpcs: store.vpcs.values(),
    subnets: store.subnets.values(),
    routeTables: store.routeTables.values(),
    instances: store.instances.values(),
    networkInterfaces: store.networkInterfaces.values(),
    addresses: store.addresses.values(),
    autoScalingGroups: [...store.autoScalingGroups.entries()],
    lifecycleHooks: [...store.lifecycleHooks.entries()],
  });
}

// ---- hostile values and requests any Query service gets ------------------------

/** Printable-ish garbage. */
export const garbageArb = fc.string({ maxLength: 40 });
/** Any code points, controls and lone surrogates included. */
export const binaryArb = fc.string({ unit: 'binary', maxLength: 40 });
/** Booleans, numbers and near-numbers of every kind, for parameters of either type. */
export const NUMBERISH = ['true', 'false', 'True', 'maybe', '0', '-1', '5', '100', '1001', '1e9', '99999999999999999999', 'NaN'] as const;
/** Wildcards, a regex-backtracking bait, a 70,000-character value, markup, NUL/CR, a lone surrogate, an astral character. */
export const NASTY = ['*', '?', '\\', '*a*a*a*a*a*a*a*a*a*b', 'x'.repeat(70_000), '<&>"\'', '\u0000\r\n', '\ud800', '😀'] as const;
/** Broken %-encodings and stray separators for a form body. */
export const BAD_ENCODINGS = ['%', '%G1', '%E0%A4', '%00', '&&&', '==', '+', '%2', ';', '%FF%FE'] as const;
/** Content types a Query endpoint does not expect. */
export const ODD_CONTENT_TYPES = ['application/json', 'text/xml', 'multipart/form-data; boundary=x', ''] as const;

/** Raw bytes, not even text. */
export function rawBytesRequest(path?: string): fc.Arbitrary<FuzzRequest> {
  return fc.uint8Array({ maxLength: 2_000 }).map((b): FuzzRequest => ({ body: b, ...(path ? { path } : {}), note: 'bytes' }));
}

/** A body past the server's 1 MiB limit. */
export function oversizedRequest(prefix: string, path?: string): FuzzRequest {
  return { body: `${prefix}&X=${'y'.repeat(1_100_000)}`, ...(path ? { path } : {}), note: 'oversized' };
}

// ---- the loop ---------------------------------------------------------------------

export interface FuzzRun {
  endpoint: string;
  store: LabStore;
  requests: fc.Arbitrary<FuzzRequest>;
  runs: number;
  seed: number;
  /** Asserts on one answer; throws (expect) on a bad one. */
  check(req: FuzzRequest, res: FuzzAnswer): void;
}

/**
 * Sends `runs` requests one at a time; each answer must pass `check` and leave
 * the store without a change notification. Returns how many answers had each status.
 */
export async function fuzzServer(run: FuzzRun): Promise<Map<number, number>> {
  let changes = 0;
  const unsubscribe = run.store.onChange(() => changes++);
  const statuses = new Map<number, number>();
  try {
    await fc.assert(
      fc.asyncProperty(run.requests, async (req) => {
        const changesBefore = changes;
        const res = await sendRaw(run.endpoint, req);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        run.check(req, res);
        expect(changes, `${req.note} changed the store`).toBe(changesBefore);
      }),
      { numRuns: run.runs, seed: run.seed, endOnFailure: true },
    );
  } finally {
    unsubscribe();
  }
  return statuses;
}
