// The API server at the HTTP level: routing, AWS-shaped errors, headers, limits,
// the request log, extra routes, and the realism knobs (latency, injected errors)
// as an SDK client sees them.
import { DescribeRouteTablesCommand, DescribeVpcsCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiServer } from '../../lab/emulator/api-server.js';
import { systemClock } from '../../lab/emulator/clock.js';
import { ec2Service } from '../../lab/emulator/ec2/service.js';
import type { ServiceDefinition } from '../../lab/emulator/query/types.js';
import { buildLab } from '../../lab/topology/build.js';
import { topologySchema } from '../../lab/topology/schema.js';
import { ec2Client, form, postRaw, startApiLab, type ApiLab } from '../support/api-lab.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Code and request ID of an EC2 error document. */
function ec2Error(text: string): { code?: string; message?: string; requestId?: string } {
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
  expect(text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error>/);
  return { code: pick('Code'), message: pick('Message'), requestId: pick('RequestID') };
}

let lab: ApiLab;
let rolls: number[] = [];
const extraHits: string[] = [];

beforeAll(async () => {
  lab = await startApiLab({ random: () => rolls.shift() ?? 0.99 });
});
afterAll(() => lab.close());

describe('routing and request shapes', () => {
  it('answers a form POST with EC2 XML, text/xml and an x-amzn-requestid matching the body', async () => {
    const res = await postRaw(lab.endpoint, form({ Action: 'DescribeVpcs' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml;charset=UTF-8');
    const id = res.headers.get('x-amzn-requestid')!;
    expect(id).toMatch(UUID);
    expect(res.text).toContain(`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${id}</requestId><vpcSet><item>`);
  });

  it.each(['/', '/ec2', '/ec2/', '/autoscaling', '/autoscaling/'])('accepts the path %s (the Version picks the service)', async (path) => {
    expect((await postRaw(lab.endpoint, form({ Action: 'DescribeVpcs' }), { path })).status).toBe(200);
  });

  it('accepts GET with a query string', async () => {
    const res = await postRaw(lab.endpoint, '', { method: 'GET', path: `/?${form({ Action: 'DescribeVpcs' })}` });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<vpcSet>');
  });

  it.each<[string, string, number, string]>([
    ['missing Action', form({}), 400, 'MissingAction'],
    ['unknown Action', form({ Action: 'LaunchRockets' }), 400, 'InvalidAction'],
    ['Auto Scaling action under the EC2 version', form({ Action: 'DescribeAutoScalingGroups' }), 400, 'InvalidAction'],
    ['missing Version', 'Action=DescribeVpcs', 400, 'MissingParameter'],
    ['unknown Version', 'Action=DescribeVpcs&Version=2099-01-01', 400, 'NoSuchVersion'],
    ['a required parameter missing', form({ Action: 'ReplaceRoute' }), 400, 'MissingParameter'],
    ['a malformed boolean', form({ Action: 'DescribeInstanceStatus', IncludeAllInstances: 'maybe' }), 400, 'InvalidParameterValue'],
    ['DryRun', form({ Action: 'DescribeVpcs', DryRun: 'true' }), 412, 'DryRunOperation'],
    ['an empty body', '', 400, 'MissingAction'],
    ['a JSON body', '{"Action":"DescribeVpcs"}', 400, 'MissingAction'],
  ])('%s → HTTP %i %s in EC2 error XML', async (_what, body, status, code) => {
    const res = await postRaw(lab.endpoint, body);
    expect(res.status).toBe(status);
    const err = ec2Error(res.text);
    expect(err.code).toBe(code);
    expect(err.requestId).toBe(res.headers.get('x-amzn-requestid'));
  });

  it('answers Auto Scaling-versioned errors in awsQuery error XML', async () => {
    const asgLab = await startAsgLab();
    try {
      const res = await postRaw(asgLab.endpoint, 'Action=Nope&Version=2011-01-01');
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/<ErrorResponse xmlns="http:\/\/autoscaling\.amazonaws\.com\/doc\/2011-01-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
      expect(res.text).toContain(`<RequestId>${res.headers.get('x-amzn-requestid')}</RequestId>`);
      const ok = await postRaw(asgLab.endpoint, 'Action=Ping&Version=2011-01-01');
      expect(ok.text).toContain('<PingResult><Pong>yes</Pong></PingResult><ResponseMetadata><RequestId>');
    } finally {
      await asgLab.close();
    }
  });

  it('unknown paths and methods get AWS-shaped 404 / 405 errors', async () => {
    const notFound = await postRaw(lab.endpoint, form({ Action: 'DescribeVpcs' }), { path: '/nope' });
    expect(notFound.status).toBe(404);
    expect(ec2Error(notFound.text).code).toBe('NotFound');
    const put = await postRaw(lab.endpoint, form({ Action: 'DescribeVpcs' }), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(ec2Error(put.text).code).toBe('MethodNotAllowed');
  });

  it('refuses a body over 1 MiB with 413 and stays up', async () => {
    const res = await postRaw(lab.endpoint, `${form({ Action: 'DescribeVpcs' })}&Pad=${'x'.repeat(1024 * 1024)}`);
    expect(res.status).toBe(413);
    expect(ec2Error(res.text).code).toBe('RequestEntityTooLarge');
    expect((await postRaw(lab.endpoint, form({ Action: 'DescribeVpcs' }))).status).toBe(200);
  });

  it('refuses a streamed body that grows past the limit without a content-length', async () => {
    const port = Number(new URL(lab.endpoint).port);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
  });

  it('serves many calls on one keep-alive connection', async () => {
    const client = ec2Client(lab.endpoint);
    try {
      for (let i = 0; i < 20; i++) await client.send(new DescribeVpcsCommand({}));
    } finally {
      client.destroy();
    }
  });
});

describe('request log', () => {
  it('records action, status, error code and redacted params of each call', async () => {
    lab.api.requestLog.clear();
    await lab.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [lab.manifest.zones[0]!.publicRouteTableId] }));
    await postRaw(lab.endpoint, form({ Action: 'Bogus' }));
    const [ok, bad] = lab.api.requestLog.entries();
    expect(ok).toMatchObject({ service: 'ec2', action: 'DescribeRouteTables', status: 200 });
    expect(ok!.params['RouteTableId.1']).toBe(lab.manifest.zones[0]!.publicRouteTableId);
    expect(ok!.requestId).toMatch(UUID);
    expect(ok!.durationMs).toBeGreaterThanOrEqual(0);
    expect(bad).toMatchObject({ status: 400, errorCode: 'InvalidAction' });
    expect(bad!.action).toBeUndefined();
  });
});

describe('realism knobs at run time', () => {
  it('setErrorRate: injected InternalError (500) before any change, then back to normal', async () => {
    const rtb = lab.manifest.zones[0]!.privateRouteTableIds[0]!;
    const before = lab.store.routeTable(rtb);
    lab.api.realism.setErrorRate(0.5);
    rolls = [0.1]; // below the rate: this call fails
    const err = await lab.ec2
      .send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', InstanceId: lab.manifest.zones[0]!.natInstanceIds[1]! }))
      .catch((e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } });
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(lab.store.routeTable(rtb)).toBe(before);
    rolls = [0.7]; // above the rate: it goes through
    await lab.ec2.send(new DescribeVpcsCommand({}));
    lab.api.realism.setErrorRate(0);
  });

  it('setActionLatency delays one action only', async () => {
    // Wide margins: the undelayed call must stay well under the delay even on a loaded 2-core machine.
    lab.api.realism.setActionLatency('DescribeVpcs', 1000);
    try {
      const t0 = performance.now();
      await lab.ec2.send(new DescribeVpcsCommand({}));
      expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
      const t1 = performance.now();
      await lab.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [lab.manifest.zones[0]!.publicRouteTableId] }));
      expect(performance.now() - t1).toBeLessThan(700);
    } finally {
      lab.api.realism.setActionLatency('DescribeVpcs', undefined);
    }
  });
});

describe('extra routes', () => {
  it('serves exact and prefix routes before the Query API; a throwing route gets a 500, logged to stderr', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const topology = topologySchema.parse({ realism: { mutatingLatencyMs: 0 } });
    const { store } = buildLab(topology, systemClock);
    const api = createApiServer({
      store,
      services: [ec2Service],
      realism: topology.realism,
      extraRoutes: [
        { method: 'GET', path: '/lab/status', handle: (_req, res) => void res.end('status') },
        { method: 'DELETE', path: '/events/subscriptions/', handle: (req, res) => void (extraHits.push(req.url!), res.end('deleted')) },
        {
          method: 'GET',
          path: '/boom',
          handle: () => {
            throw new Error('route failure (expected by the test)');
          },
        },
      ],
    });
    const endpoint = `http://127.0.0.1:${await api.listen(0)}`;
    try {
      expect((await postRaw(endpoint, '', { method: 'GET', path: '/lab/status' })).text).toBe('status');
      expect((await postRaw(endpoint, '', { method: 'DELETE', path: '/events/subscriptions/abc' })).text).toBe('deleted');
      expect(extraHits).toEqual(['/events/subscriptions/abc']);
      expect((await postRaw(endpoint, '', { method: 'GET', path: '/boom' })).status).toBe(500);
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining('GET /boom failed'), expect.any(Error));
      expect((await postRaw(endpoint, form({ Action: 'DescribeVpcs' }))).status).toBe(200);
    } finally {
      stderr.mockRestore();
      await api.close();
      store.dispose();
    }
  });
});

/** A lab with a minimal awsQuery service next to EC2, to see the awsQuery dialect end to end. */
async function startAsgLab() {
  const topology = topologySchema.parse({});
  const { store } = buildLab(topology, systemClock);
  const ping: ServiceDefinition = {
    name: 'autoscaling',
    version: '2011-01-01',
    xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
    listItem: 'member',
    wrapResult: true,
    actions: { Ping: { mutating: false, handler: () => ({ Pong: 'yes' }) } },
  };
  const api = createApiServer({ store, services: [ec2Service, ping], realism: topology.realism });
  const endpoint = `http://127.0.0.1:${await api.listen(0)}`;
  return {
    endpoint,
    close: async () => {
      await api.close();
      store.dispose();
    },
  };
}
