// "VPC endpoints" for the lab's instances: the EC2/Auto Scaling API and DynamoDB,
// reachable from inside every NAT instance's namespace the way IMDS is: socat listens
// on a link-local address on the namespace's lo and forwards to a unix socket in the
// run directory, which this process pipes to the API server on the host's loopback.
// No namespace gets a route to the host; only these two ports are reachable.
import { mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { LabStore } from './emulator/store.js';
import type { DataPlane } from './netns/dataplane.js';
import type { Logger } from '../src/telemetry/logger.js';

/** Inside an instance: the API (EC2 and Auto Scaling) on port 80, DynamoDB on port 8000. */
export const IN_INSTANCE_ENDPOINT_IP = '169.254.169.200';
export const IN_INSTANCE_ENDPOINTS = {
  ec2: `http://${IN_INSTANCE_ENDPOINT_IP}/`,
  autoscaling: `http://${IN_INSTANCE_ENDPOINT_IP}/`,
  dynamodb: `http://${IN_INSTANCE_ENDPOINT_IP}:8000`,
} as const;

interface Upstream {
  name: string;
  port: number;
  listenPort: number;
}

/** A unix socket server piping each connection to host:port. */
function pipeServer(path: string, host: string, port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  // close() waits for open connections; keep-alive clients would hold it forever.
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  return new Promise((resolve, reject) => server.once('error', reject).listen(path, () => resolve(server)));
}

/** Serves the endpoints in every NAT instance, present and future. */
export async function serveVpcEndpoints(opts: { store: LabStore; dataPlane: DataPlane; runDir: string; host: string; apiPort: number; dynamodbPort: number; log: Logger }) {
  const dir = join(opts.runDir, 'endpoints');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const upstreams: Upstream[] = [
    { name: 'api', port: opts.apiPort, listenPort: 80 },
    { name: 'dynamodb', port: opts.dynamodbPort, listenPort: 8000 },
  ];
  const servers: Server[] = [];
  const close = async () => {
    off();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    rmSync(dir, { recursive: true, force: true });
  };
  let off = () => {};
  const serveIn = async (instanceId: string) => {
    if (opts.store.instances.get(instanceId)?.role !== 'nat') return;
    for (const u of upstreams) await opts.dataPlane.startForwarder(instanceId, { ip: IN_INSTANCE_ENDPOINT_IP, port: u.listenPort }, join(dir, `${u.name}.sock`));
  };
  try {
    for (const u of upstreams) servers.push(await pipeServer(join(dir, `${u.name}.sock`), opts.host, u.port));
    for (const inst of opts.store.instances.values()) if (inst.state !== 'terminated') await serveIn(inst.instanceId);
  } catch (err) {
    await close();
    throw err;
  }
  off = opts.store.onChange((change) => {
    if (change.kind === 'instance-launched')
      void serveIn(change.instanceId).catch((err: unknown) => opts.log.warn('lab.endpoints.serve-failed', { instance: change.instanceId, error: err as Error }));
  });
  return { close };
}
