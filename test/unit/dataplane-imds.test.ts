import { describe, expect, it } from 'vitest';
import { ImdsClient, ImdsError } from '../../src/aws/imds.js';

type Call = { method: string; url: string; headers: Record<string, string> };

function fakeImds(tree: Record<string, string>, opts: { expireFirstToken?: boolean } = {}) {
  const calls: Call[] = [];
  let issued = 0;
  const valid = new Set<string>();
  const f = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = Object.fromEntries(Object.entries(init?.headers ?? {}));
    const u = new URL(url);
    calls.push({ method: init?.method ?? 'GET', url: u.pathname, headers });
    if (u.pathname === '/latest/api/token' && init?.method === 'PUT') {
      const t = `token-${++issued}`;
      if (!(opts.expireFirstToken && issued === 1)) valid.add(t);
      return new Response(t);
    }
    if (!valid.has(headers['X-aws-ec2-metadata-token'] ?? '')) return new Response('', { status: 401 });
    const v = tree[u.pathname.replace('/latest/meta-data/', '')];
    return v === undefined ? new Response('', { status: 404 }) : new Response(v);
  };
  return { calls, fetch: f as typeof fetch };
}

const tree = {
  'network/interfaces/macs/': '0a:00:00:00:00:02/\n0a:00:00:00:00:01/',
  'network/interfaces/macs/0a:00:00:00:00:01/device-number': '0',
  'network/interfaces/macs/0a:00:00:00:00:02/device-number': '1',
  'network/interfaces/macs/0a:00:00:00:00:01/vpc-ipv4-cidr-blocks': '10.0.0.0/16\n100.64.0.0/16',
  'network/interfaces/macs/0a:00:00:00:00:02/vpc-ipv4-cidr-blocks': '10.0.0.0/16',
  'instance-id': 'i-0123',
};

describe('ImdsClient (IMDSv2)', () => {
  it('PUTs a token once, then GETs with it', async () => {
    const f = fakeImds(tree);
    const c = new ImdsClient({ baseUrl: 'http://imds.test/', fetch: f.fetch });
    expect(await c.get('instance-id')).toBe('i-0123');
    expect(await c.get('nothing/here')).toBeUndefined();
    expect(f.calls.map((x) => `${x.method} ${x.url}`)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/instance-id', 'GET /latest/meta-data/nothing/here']);
    expect(f.calls[0]!.headers['X-aws-ec2-metadata-token-ttl-seconds']).toBe('21600');
    expect(f.calls[1]!.headers['X-aws-ec2-metadata-token']).toBe('token-1');
  });

  it('takes a fresh token once on 401', async () => {
    const f = fakeImds(tree, { expireFirstToken: true });
    const c = new ImdsClient({ baseUrl: 'http://imds.test', fetch: f.fetch });
    expect(await c.get('instance-id')).toBe('i-0123');
    expect(f.calls.filter((x) => x.method === 'PUT')).toHaveLength(2);
  });

  it('lists network interfaces by device number with their VPC CIDRs', async () => {
    const c = new ImdsClient({ baseUrl: 'http://imds.test', fetch: fakeImds(tree).fetch });
    expect(await c.networkInterfaces()).toEqual([
      { mac: '0a:00:00:00:00:01', deviceNumber: 0, vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
      { mac: '0a:00:00:00:00:02', deviceNumber: 1, vpcCidrs: ['10.0.0.0/16'] },
    ]);
  });

  it('a network failure is an ImdsError naming the URL', async () => {
    const c = new ImdsClient({ baseUrl: 'http://imds.test', fetch: async () => Promise.reject(new Error('ECONNREFUSED')) });
    await expect(c.get('instance-id')).rejects.toThrow(ImdsError);
    await expect(c.get('instance-id')).rejects.toThrow('IMDS PUT http://imds.test/latest/api/token failed: ECONNREFUSED');
  });
});
