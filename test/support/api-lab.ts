// A lab store behind the emulated EC2 API on 127.0.0.1, for the api-* and ec2-*
// integration tests (with `autoScaling`, the Auto Scaling API on the same server
// and its group controller too, as in the lab). The realism defaults are fast
// (no latency, 50 ms ENI attach) unless a test overrides them.
import { EC2Client } from '@aws-sdk/client-ec2';
import { createApiServer, type ApiServer } from '../../lab/emulator/api-server.js';
import { AutoScalingController } from '../../lab/emulator/autoscaling/controller.js';
import { autoScalingService } from '../../lab/emulator/autoscaling/service.js';
import { systemClock, type Clock } from '../../lab/emulator/clock.js';
import { ec2Service } from '../../lab/emulator/ec2/service.js';
import type { LabStore } from '../../lab/emulator/store.js';
import { buildLab, type LabManifest } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';

export interface ApiLab {
  store: LabStore;
  manifest: LabManifest;
  api: ApiServer;
  endpoint: string;
  ec2: EC2Client;
  /** The running group controller, when started with `autoScaling`. */
  autoScaling?: AutoScalingController;
  close(): Promise<void>;
}

export interface ApiLabOptions {
  /** Topology fields; `realism` is merged over the fast test defaults. */
  topology?: Record<string, unknown> & { realism?: Record<string, unknown> };
  clock?: Clock;
  random?: () => number;
  /** Also serve the Auto Scaling API (Version 2011-01-01) and run its group controller. */
  autoScaling?: boolean;
}

export const FAST_REALISM = {
  mutatingLatencyMs: 0,
  describeLatencyMs: 0,
  eniAttachMs: 50,
  eniDetachMs: 50,
  instanceStartMs: 50,
  instanceStopMs: 50,
  instanceTerminateMs: 50,
};

export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDLABTEST', secretAccessKey: 'lab-secret' };

/** An EC2 client for the lab: no retries, so every error reaches the test as sent. */
export function ec2Client(endpoint: string): EC2Client {
  return new EC2Client({ endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
}

export async function startApiLab(opts: ApiLabOptions = {}): Promise<ApiLab> {
  const clock = opts.clock ?? systemClock;
  const { realism, ...rest } = opts.topology ?? {};
  const topology = topologySchema.parse({ ...rest, realism: { ...FAST_REALISM, ...realism } });
  const { store, manifest } = buildLab(topology, clock);
  const autoScaling = opts.autoScaling ? new AutoScalingController({ store }) : undefined;
  autoScaling?.start();
  const api = createApiServer({
    store,
    services: autoScaling ? [ec2Service, autoScalingService] : [ec2Service],
    realism: topology.realism,
    clock,
    ...(opts.random ? { random: opts.random } : {}),
  });
  const port = await api.listen(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const ec2 = ec2Client(endpoint);
  return {
    store,
    manifest,
    api,
    endpoint,
    ec2,
    ...(autoScaling ? { autoScaling } : {}),
    close: async () => {
      ec2.destroy();
      await api.close();
      autoScaling?.stop();
      store.dispose();
    },
  };
}

/** POSTs a raw form body (or any bytes) and returns status, headers and text. */
export async function postRaw(
  endpoint: string,
  body: string | Uint8Array,
  init: { path?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${endpoint}${init.path ?? '/'}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...init.headers },
    ...(init.method === 'GET' || init.method === 'HEAD' ? {} : { body }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Form-encodes Query parameters, EC2 Version included unless given. */
export function form(params: Record<string, string>): string {
  return new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
}
