// IMDSv2 for one instance at a time, as an HTTP request handler. The data plane
// serves one unix socket per instance (reached at 169.254.169.254:80 inside the
// instance's namespace) and calls the handler with that instance's ID, so an
// instance only ever sees its own metadata.
//
// Like an instance launched with HttpTokens=required: every GET needs a session
// token from PUT /latest/api/token; IMDSv1 (no token) gets 401.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NoticeBoard } from '../events/notices.js';
import type { AutoScalingGroup } from '../model.js';
import type { LabStore } from '../store.js';

export interface ImdsOptions {
  store: LabStore;
  notices?: NoticeBoard;
}

export type ImdsHandler = (instanceId: string, req: IncomingMessage, res: ServerResponse) => void;

export const TOKEN_PATH = '/latest/api/token';
export const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
export const MAX_TOKEN_TTL_SECONDS = 21_600;
const MAX_TOKENS = 10_000;

/** A metadata tree: a string is a leaf (a file), an object a category (a directory). */
type Tree = { [name: string]: Tree | string };

/** What IMDS's autoscaling/target-lifecycle-state says for an instance's lifecycle state. */
export function targetLifecycleState(group: AutoScalingGroup, instanceId: string): string | undefined {
  const member = group.instances.find((i) => i.instanceId === instanceId);
  if (!member) return undefined;
  return member.lifecycleState.startsWith('Terminat') ? 'Terminated' : 'InService';
}

/** The role name of the lab's instance profile. */
export const LAB_ROLE_NAME = 'natkeeper-lab-instance';

/**
 * The access key ID of an instance's role credentials: one per instance (as AWS issues a
 * session per instance), so the API server's request log can say which instance called
 * (what CloudTrail's userIdentity says on AWS).
 */
export const labAccessKeyIdOf = (instanceId: string) => `ASIA${instanceId.replace(/^i-/, '').toUpperCase()}`;

/** IMDS's credentials document for an instance: valid for 6 hours from `now`, as EC2 rotates them. */
export function labRoleCredentials(now: number, instanceId: string) {
  return {
    Code: 'Success',
    LastUpdated: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Type: 'AWS-HMAC',
    AccessKeyId: labAccessKeyIdOf(instanceId),
    SecretAccessKey: 'lab-secret-access-key-not-checked',
    Token: 'lab-session-token',
    Expiration: new Date(now + 6 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export function createImdsHandler(opts: ImdsOptions): ImdsHandler {
  const { store, notices } = opts;
  const tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  const prune = (now: number) => {
    for (const [t, v] of tokens) if (v.expiresAt <= now) tokens.delete(t);
  };

  /** The instance as IMDS sees it, or undefined when nothing runs to ask. */
  const liveInstance = (instanceId: string) => {
    const inst = store.instances.get(instanceId);
    if (!inst || inst.state === 'terminated' || inst.state === 'stopped') return undefined;
    return inst;
  };

  const buildTree = (instanceId: string): Tree | undefined => {
    const inst = liveInstance(instanceId);
    if (!inst) return undefined;
    const enis = store.interfacesOf(instanceId).filter((e) => e.attachment?.status === 'attached' || e.attachment?.status === 'detaching');
    const primary = enis.find((e) => e.attachment!.deviceIndex === 0);
    const publicIpOf = (eniId: string) => store.addresses.values().find((a) => a.networkInterfaceId === eniId)?.publicIp;
    const hostname = (ip: string) =>
      store.region === 'us-east-1' ? `ip-${ip.replaceAll('.', '-')}.ec2.internal` : `ip-${ip.replaceAll('.', '-')}.${store.region}.compute.internal`;
    const macs: Tree = {};
    for (const eni of enis) {
      const subnet = store.subnets.get(eni.subnetId);
      const vpc = store.vpcs.get(eni.vpcId);
      const pub = publicIpOf(eni.networkInterfaceId);
      macs[eni.macAddress] = {
        'device-number': String(eni.attachment!.deviceIndex),
        'interface-id': eni.networkInterfaceId,
        'local-hostname': hostname(eni.privateIpAddress),
        'local-ipv4s': eni.privateIpAddress,
        mac: eni.macAddress,
        'owner-id': store.accountId,
        ...(pub ? { 'public-ipv4s': pub } : {}),
        'subnet-id': eni.subnetId,
        ...(subnet ? { 'subnet-ipv4-cidr-block': subnet.cidrBlock } : {}),
        'vpc-id': eni.vpcId,
        ...(vpc ? { 'vpc-ipv4-cidr-block': vpc.cidrBlock, 'vpc-ipv4-cidr-blocks': vpc.cidrBlock } : {}),
      };
    }
    const tree: Tree = {
      'ami-id': inst.imageId,
      'instance-id': inst.instanceId,
      'instance-life-cycle': inst.lifecycle,
      'instance-type': inst.instanceType,
      network: { interfaces: { macs } },
      placement: { 'availability-zone': inst.availabilityZone, region: store.region },
      // The instance profile's role credentials, as the SDK's default chain reads them. The
      // lab's APIs do not check signatures; these only let a real SDK sign its requests.
      iam: { 'security-credentials': { [LAB_ROLE_NAME]: JSON.stringify(labRoleCredentials(Date.now(), instanceId)) } },
    };
    if (primary) {
      tree['local-ipv4'] = primary.privateIpAddress;
      tree['local-hostname'] = hostname(primary.privateIpAddress);
      tree.hostname = hostname(primary.privateIpAddress);
      tree.mac = primary.macAddress;
      const pub = publicIpOf(primary.networkInterfaceId);
      if (pub) tree['public-ipv4'] = pub;
    }
    const action = notices?.instanceActionDocument(instanceId);
    if (action) tree.spot = { 'instance-action': JSON.stringify(action) };
    const rebalance = notices?.rebalanceDocument(instanceId);
    if (rebalance) tree.events = { recommendations: { rebalance: JSON.stringify(rebalance) } };
    const group = inst.autoScalingGroupName ? store.autoScalingGroups.get(inst.autoScalingGroupName) : undefined;
    const target = group ? targetLifecycleState(group, instanceId) : undefined;
    if (target) tree.autoscaling = { 'target-lifecycle-state': target };
    return tree;
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'text/plain',
      'content-length': String(Buffer.byteLength(body)),
      server: 'EC2ws',
      ...headers,
    });
    res.end(body);
  };
  const notFound = (res: ServerResponse) => send(res, 404, 'Not Found\n');

  const putToken = (instanceId: string, req: IncomingMessage, res: ServerResponse) => {
    // IMDS refuses token requests that went through a proxy.
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 403, 'Forbidden\n');
    const raw = req.headers[TOKEN_TTL_HEADER];
    const text = Array.isArray(raw) ? raw[0] : raw;
    const ttl = text !== undefined && /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS)
      return send(res, 400, `Bad Request: ${TOKEN_TTL_HEADER} must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS}\n`);
    const now = store.clock.now();
    if (tokens.size >= MAX_TOKENS) prune(now);
    // Still full of live tokens: the oldest go first (a Map iterates in insertion order).
    for (const t of tokens.keys()) {
      if (tokens.size < MAX_TOKENS) break;
      tokens.delete(t);
    }
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, { instanceId, expiresAt: now + ttl * 1000 });
    send(res, 200, token, { [TOKEN_TTL_HEADER]: String(ttl) });
  };

  const tokenValid = (instanceId: string, req: IncomingMessage): boolean => {
    const raw = req.headers[TOKEN_HEADER];
    const token = Array.isArray(raw) ? raw[0] : raw;
    if (!token) return false;
    const entry = tokens.get(token);
    if (!entry) return false;
    if (entry.expiresAt <= store.clock.now()) {
      tokens.delete(token);
      return false;
    }
    return entry.instanceId === instanceId;
  };

  const get = (instanceId: string, path: string, res: ServerResponse) => {
    if (path === '/' || path === '') return send(res, 200, 'latest');
    if (path === '/latest' || path === '/latest/') return send(res, 200, 'meta-data');
    const prefix = '/latest/meta-data';
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return notFound(res);
    const tree = buildTree(instanceId);
    if (!tree) return notFound(res);
    const parts = path.slice(prefix.length).split('/').filter((p) => p !== '');
    let node: Tree | string = tree;
    for (const part of parts) {
      if (typeof node === 'string') return notFound(res);
      const next: Tree | string | undefined = node[decodeURIComponent(part)];
      if (next === undefined) return notFound(res);
      node = next;
    }
    if (typeof node === 'string') {
      // A leaf asked for as a directory is not found, as in IMDS.
      if (path.endsWith('/')) return notFound(res);
      return send(res, 200, node);
    }
    const listing = Object.entries(node)
      .map(([k, v]) => (typeof v === 'string' ? k : `${k}/`))
      .join('\n');
    send(res, 200, listing);
  };

  return (instanceId, req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://169.254.169.254').pathname;
      const method = req.method ?? 'GET';
      // Whatever was sent, read and drop it so the connection stays usable.
      req.resume();
      if (!liveInstance(instanceId)) return notFound(res);
      if (path === TOKEN_PATH) {
        if (method !== 'PUT') return send(res, 405, 'Method Not Allowed\n', { allow: 'PUT' });
        return putToken(instanceId, req, res);
      }
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'Method Not Allowed\n', { allow: 'GET, HEAD' });
      if (!tokenValid(instanceId, req)) return send(res, 401, 'Unauthorized\n');
      get(instanceId, path, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, `Internal Server Error: ${(err as Error).message}\n`);
      else res.destroy();
    }
  };
}
