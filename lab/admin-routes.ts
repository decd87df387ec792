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
import { readJsonBody, sendJson } from './http-json.js';

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
        const body = await readJsonBody(req, MAX_BODY);
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
