// startLab(): one process that hosts the whole lab — the emulated EC2 and Auto
// Scaling APIs, DynamoDB (dynalite), events, IMDS, and (as root) the network
// namespace data plane that mirrors the emulator into the kernel.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import dynalite from 'dynalite';
import type { Logger } from '../src/telemetry/logger.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { ChaosRunner } from './chaos/runner.js';
import { createApiServer } from './emulator/api-server.js';
import { AutoScalingController } from './emulator/autoscaling/controller.js';
import { autoScalingService } from './emulator/autoscaling/service.js';
import { systemClock, type Clock } from './emulator/clock.js';
import { ec2Service } from './emulator/ec2/service.js';
import { EventBus } from './emulator/events/bus.js';
import { NoticeBoard } from './emulator/events/notices.js';
import { createEventRoutes } from './emulator/events/routes.js';
import { createImdsHandler } from './emulator/imds/handler.js';
import type { LabStore } from './emulator/store.js';
import { adminRoutes } from './admin-routes.js';
import { DataPlane } from './netns/dataplane.js';
import { imdsSocketDir, type LabEndpoints } from './run-dir.js';
import { serveVpcEndpoints } from './vpc-endpoints.js';
import { buildLab, type LabManifest } from './topology/build.js';
import { givePublicIp, reclaimPublicIps } from './launch-public-ips.js';
import { resolveInstanceRef } from './instance-ref.js';
import type { Topology } from './topology/schema.js';

export interface LabOptions {
  topology: Topology;
  /** Where sockets live; also the state file's folder when run by `lab up`. */
  runDir: string;
  /** Namespace prefix: two labs with different prefixes never collide. */
  prefix: string;
  /** 'auto' builds the data plane when this process may create namespaces. */
  dataPlane: 'auto' | 'on' | 'off';
  host?: string;
  apiPort?: number;
  dynamodbPort?: number;
  clock?: Clock;
  log?: Logger;
}

export interface RunningLab {
  store: LabStore;
  manifest: LabManifest;
  endpoints: LabEndpoints;
  dataPlane?: DataPlane;
  /** Why the data plane is off, when it is. */
  dataPlaneNote?: string;
  api: ReturnType<typeof createApiServer>;
  events: EventBus;
  notices: NoticeBoard;
  chaos: ChaosRunner;
  /** Instance ID from an ID or a Name tag (nat-a1). */
  resolveInstance(ref: string): string;
  close(): Promise<void>;
}

export async function startLab(opts: LabOptions): Promise<RunningLab> {
  const log = opts.log ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const host = opts.host ?? '127.0.0.1';
  const { store, manifest, eips } = buildLab(opts.topology, clock);
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn('lab.close.step-failed', { error: err as Error });
      }
    }
    cleanups.length = 0;
  };

  try {
    mkdirSync(opts.runDir, { recursive: true });
    cleanups.push(() => store.dispose());

    const events = new EventBus({ store, log });
    cleanups.push(() => events.close());
    const notices = new NoticeBoard({ store, events });

    const asg = new AutoScalingController({
      store,
      events,
      onInstanceLaunched: (instanceId) => givePublicIp(store, eips, instanceId),
    });
    cleanups.push(reclaimPublicIps(store, eips));
    asg.start();
    cleanups.push(() => asg.stop());

    let dataPlane: DataPlane | undefined;
    let dataPlaneNote: string | undefined;
    if (opts.dataPlane !== 'off') {
      const can = await DataPlane.canUseNetns();
      if (can.ok) {
        dataPlane = await DataPlane.create({ store, manifest, topology: opts.topology, prefix: opts.prefix, runDir: opts.runDir, log });
        cleanups.push(() => dataPlane?.teardown());
      } else if (opts.dataPlane === 'on') {
        throw new Error(`the lab data plane needs root (CAP_NET_ADMIN): ${can.reason}`);
      } else {
        dataPlaneNote = `data plane off: ${can.reason}; the APIs run alone`;
      }
    } else {
      dataPlaneNote = 'data plane off (asked for)';
    }

    const chaos = new ChaosRunner({ store, dataPlane, notices, killStateDelayMs: opts.topology.realism.killStateDelayMs, log });
    const resolveInstance = (ref: string) => resolveInstanceRef(store, ref);

    const api = createApiServer({
      store,
      services: [ec2Service, autoScalingService],
      realism: opts.topology.realism,
      clock,
      extraRoutes: [
        ...createEventRoutes(events),
        ...adminRoutes({ store, manifest, chaos, resolveInstance, dataPlane: () => dataPlane, dataPlaneNote }),
      ],
    });
    chaos.attachRealism(api.realism);
    const apiPort = await api.listen(opts.apiPort ?? 0, host);
    cleanups.push(() => api.close());

    const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const dynamoPort = await listen(dynamo, opts.dynamodbPort ?? 0, host);
    cleanups.push(() => closeServer(dynamo));

    if (dataPlane) {
      const imds = await serveImds(store, dataPlane, notices, opts.runDir, log);
      cleanups.push(imds.close);
      const vpcEndpoints = await serveVpcEndpoints({ store, dataPlane, runDir: opts.runDir, host, apiPort, dynamodbPort: dynamoPort, log });
      cleanups.push(vpcEndpoints.close);
    }

    const base = `http://${host}:${apiPort}`;
    const endpoints: LabEndpoints = {
      ec2: `${base}/`,
      autoscaling: `${base}/`,
      dynamodb: `http://${host}:${dynamoPort}`,
      events: `${base}/events`,
      admin: `${base}/lab`,
    };
    log.info('lab.up', { endpoints, dataPlane: Boolean(dataPlane), prefix: opts.prefix });
    return {
      store,
      manifest,
      endpoints,
      ...(dataPlane ? { dataPlane } : {}),
      ...(dataPlaneNote ? { dataPlaneNote } : {}),
      api,
      events,
      notices,
      chaos,
      resolveInstance,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** IMDS: one unix socket per instance, reached from inside its namespace at 169.254.169.254:80. */
async function serveImds(store: LabStore, dataPlane: DataPlane, notices: NoticeBoard, runDir: string, log: Logger) {
  const dir = imdsSocketDir(runDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const handle = createImdsHandler({ store, notices });
  const servers = new Map<string, Server>();
  const serve = async (instanceId: string) => {
    if (servers.has(instanceId)) return;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => handle(instanceId, req, res));
    servers.set(instanceId, server);
    const path = join(dir, `${instanceId}.sock`);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()));
    await dataPlane.startForwarder(instanceId, { ip: '169.254.169.254', port: 80 }, path);
  };
  let off = () => {};
  const close = async () => {
    off();
    await Promise.all([...servers.values()].map(closeServer));
    servers.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const inst of store.instances.values()) if (inst.state !== 'terminated') await serve(inst.instanceId);
  } catch (err) {
    // Servers already listening would keep the process (or a test run) alive.
    await close();
    throw err;
  }
  off = store.onChange((change) => {
    if (change.kind === 'instance-launched')
      void serve(change.instanceId).catch((err: unknown) => log.warn('lab.imds.serve-failed', { instance: change.instanceId, error: err as Error }));
    if (change.kind === 'instance-state' && change.to === 'terminated') {
      const server = servers.get(change.instanceId);
      servers.delete(change.instanceId);
      if (server) void closeServer(server);
    }
  });
  return { close };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
