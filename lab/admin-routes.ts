// The lab's own control endpoint (not an AWS API): status and chaos, as JSON.
//   GET  /lab/status  → the lab's resources and their state
//   POST /lab/chaos   → { verb, ... } (see chaos/verbs.ts); 400 names the bad field
//   GET  /lab/chaos   → the chaos log

import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeZodIssues } from '../src/config/errors.js';
import { ChaosError, type ChaosRunner } from './chaos/runner.js';
import { chaosRequestSchema } from './chaos/verbs.js';
import type { LabStore } from './emulator/store.js';
import type { DataPlane } from './netns/dataplane.js';
import type { LabManifest } from './topology/build.js';
import { describeLab } from './lab-status.js';

export interface AdminRouteDeps {
  store: LabStore;
  manifest: LabManifest;
  chaos: ChaosRunner;
  resolveInstance(ref: string): string;
  dataPlane(): DataPlane | undefined;
  dataPlaneNote: string | undefined;
}

export interface ExtraRoute {
  method: string;
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

const MAX_BODY = 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readJsonBody(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { ok: false, error: `body larger than ${MAX_BODY} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
}

export function adminRoutes(deps: AdminRouteDeps): ExtraRoute[] {
  return [
    {
      method: 'GET',
      path: '/lab/status',
      handle: (_req, res) => sendJson(res, 200, describeLab(deps.store, deps.manifest, deps.dataPlane(), deps.dataPlaneNote)),
    },
    {
      method: 'GET',
      path: '/lab/chaos',
      handle: (_req, res) => sendJson(res, 200, deps.chaos.history()),
    },
    {
      method: 'POST',
      path: '/lab/chaos',
      handle: async (req, res) => {
        const body = await readJsonBody(req);
        if (!body.ok) return sendJson(res, 400, { error: body.error });
        const parsed = chaosRequestSchema.safeParse(body.value);
        if (!parsed.success) {
          const issues = describeZodIssues(parsed.error);
          return sendJson(res, 400, { error: `invalid chaos request: ${issues.join('; ')}`, issues });
        }
        try {
          sendJson(res, 200, await deps.chaos.run(parsed.data));
        } catch (err) {
          sendJson(res, err instanceof ChaosError ? 409 : 500, { error: (err as Error).message });
        }
      },
    },
  ];
}
