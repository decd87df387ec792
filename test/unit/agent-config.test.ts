import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentConfigSchema,
  AGENT_DEFAULTS,
  DEFAULT_PROBE_TARGETS,
  loadAgentConfig,
  parseAgentConfig,
  parseListenAddress,
} from '../../src/config/agent-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { DEFAULT_VERDICT_POLICY } from '../../src/domain/verdict/policy.js';

/** The issue lines of a bad config. */
function issues(text: string): string[] {
  try {
    parseAgentConfig(text, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('agent config: defaults', () => {
  it('an empty file takes every documented default', () => {
    const c = parseAgentConfig('');
    expect(c).toEqual({
      node: {},
      endpoints: {},
      probe: {
        intervalMs: 200,
        targets: [
          { kind: 'tcp', host: '1.1.1.1', port: 443, timeoutMs: 1000, name: 'tcp:1.1.1.1:443' },
          { kind: 'http', host: 'checkip.amazonaws.com', port: 80, tls: false, path: '/', timeoutMs: 1000, name: 'http:checkip.amazonaws.com:80' },
          { kind: 'tcp', host: '8.8.8.8', port: 443, timeoutMs: 1000, name: 'tcp:8.8.8.8:443' },
        ],
        selfVantage: 'namespace',
        selfNamespace: 'natkeeper-self',
      },
      heartbeat: { port: 9470, intervalMs: 100, lostAfterMissed: 5 },
      peers: { mode: 'discover', tag: 'natkeeper:role=nat', refreshMs: 30000 },
      verdict: DEFAULT_VERDICT_POLICY,
      dataplane: { conntrack: { tcpEstablishedTimeoutSec: 350 }, rpFilter: 'loose' },
      ec2: { sourceDestCheck: 'disable', attachTimeoutMs: 60000, attachPollIntervalMs: 500 },
      imds: { baseUrl: 'http://169.254.169.254', pollIntervalMs: 2000 },
      lease: { store: 'dynamodb', table: 'natkeeper', name: 'natkeeper', ttlMs: 6000, renewEveryMs: 2000 },
      handover: { drainTimeoutMs: 20000 },
      controller: { enabled: true, failbackAfterMs: 60000, maxTransitions: 4, transitionWindowMs: 600000, associationSwap: false, resyncMs: 10000 },
      http: { listen: { address: '127.0.0.1:9469', host: '127.0.0.1', port: 9469 } },
      log: { level: 'info' },
    });
    expect(c.probe.targets).toHaveLength(DEFAULT_PROBE_TARGETS.length);
    expect(c.probe.intervalMs).toBe(AGENT_DEFAULTS.probeIntervalMs);
  });

  it('an empty object and an empty file are the same', () => {
    expect(agentConfigSchema.parse({})).toEqual(parseAgentConfig('{}'));
  });

  it('parses a full YAML file', () => {
    const c = parseAgentConfig(`
node: { id: i-0abc, zone: eu-west-1a }
region: eu-west-1
endpoints: { ec2: "http://127.0.0.1:4566", autoscaling: "http://127.0.0.1:4566", dynamodb: "http://127.0.0.1:8000" }
probe:
  intervalMs: 500
  targets:
    - { kind: tcp, host: 198.51.100.10, port: 80, timeoutMs: 300 }
    - { kind: http, name: web, host: example.org, tls: true, path: /health }
    - { kind: icmp, host: 203.0.113.5 }
heartbeat: { port: 10000, intervalMs: 50, lostAfterMissed: 10 }
peers:
  mode: static
  nodes:
    - { id: i-0def, address: 10.0.2.10 }
    - { id: i-0fed, address: 10.0.3.10, heartbeatPort: 10001 }
verdict: { windowProbes: 12, failuresToFail: 8 }
dataplane:
  egressInterfaces: [eth0, eth0]
  excludeDestinations: [10.0.1.1/16]
  conntrack: { max: 262144, tcpEstablishedTimeoutSec: 600 }
  rpFilter: strict
imds: { baseUrl: "http://127.0.0.1:1338", pollIntervalMs: 500 }
lease: { store: etcd, endpoint: "http://10.0.1.5:2379", ttlMs: 9000, renewEveryMs: 3000 }
http: { listen: "[::1]:9000" }
log: { level: debug }
`);
    expect(c.node).toEqual({ id: 'i-0abc', zone: 'eu-west-1a' });
    expect(c.probe.targets.map((t) => t.name)).toEqual(['tcp:198.51.100.10:80', 'web', 'icmp:203.0.113.5']);
    expect(c.probe.targets[1]).toMatchObject({ port: 443, tls: true, path: '/health', timeoutMs: 1000 });
    expect(c.peers).toEqual({
      mode: 'static',
      nodes: [
        { id: 'i-0def', address: '10.0.2.10' },
        { id: 'i-0fed', address: '10.0.3.10', heartbeatPort: 10001 },
      ],
    });
    expect(c.verdict).toMatchObject({ windowProbes: 12, failuresToFail: 8, passesToRecover: 5 });
    expect(c.dataplane).toEqual({
      egressInterfaces: ['eth0'],
      excludeDestinations: ['10.0.0.0/16'],
      conntrack: { max: 262144, tcpEstablishedTimeoutSec: 600 },
      rpFilter: 'strict',
    });
    expect(c.lease).toEqual({ store: 'etcd', endpoint: 'http://10.0.1.5:2379', name: 'natkeeper', ttlMs: 9000, renewEveryMs: 3000 });
    expect(c.http.listen).toEqual({ address: '[::1]:9000', host: '::1', port: 9000 });
    expect(c.log.level).toBe('debug');
  });

  it('accepts JSON', () => {
    expect(parseAgentConfig('{"probe": {"intervalMs": 250}}').probe.intervalMs).toBe(250);
  });
});

describe('agent config: errors name the field and the expected value', () => {
  it.each([
    ['lease: { renewEveryMs: 3000 }', 'lease.renewEveryMs: expected less than ttlMs / 2 (< 3000 ms), got 3000'],
    ['lease: { ttlMs: 500 }', 'lease.ttlMs: expected at least 1000 ms'],
    ['lease: { store: redis }', 'lease.store: expected dynamodb or etcd'],
    ['lease: { store: etcd }', 'lease.endpoint: expected an etcd client URL (required with store etcd)'],
    ['lease: { store: etcd, endpoint: "http://e:2379", table: t1t }', 'lease.table: expected no table with store etcd (table is for dynamodb)'],
    ['lease: { endpoint: "http://e:2379" }', 'lease.endpoint: expected no endpoint with store dynamodb (use endpoints.dynamodb)'],
    ['probe: { intervalMs: "200" }', 'probe.intervalMs: expected a whole number of milliseconds'],
    ['probe: { intervalMs: 1.5 }', 'probe.intervalMs: expected a whole number of milliseconds'],
    ['probe: { intervalMs: 5 }', 'probe.intervalMs: expected at least 20 ms'],
    ['probe: { targets: [] }', 'probe.targets: expected at least one probe target'],
    ['probe: { targets: [{ kind: udp, host: a }] }', 'probe.targets[0].kind: expected kind tcp, http or icmp'],
    ['probe: { targets: [{ kind: tcp, host: a }] }', 'probe.targets[0].port: expected a port number'],
    ['probe: { targets: [{ kind: tcp, host: a, port: 70000 }] }', 'probe.targets[0].port: expected a port from 1 to 65535'],
    ['probe: { targets: [{ kind: tcp, host: "http://a", port: 1 }] }', 'probe.targets[0].host: expected a host name or IP address (no scheme, port or path)'],
    ['probe: { targets: [{ kind: icmp, host: a, port: 1 }] }', 'probe.targets[0].port: unknown field (check the spelling)'],
    ['probe: { targets: [{ kind: http, host: a, path: x }] }', 'probe.targets[0].path: expected a path starting with /'],
    [
      'probe: { targets: [{ kind: icmp, host: a }, { kind: icmp, host: a }] }',
      'probe.targets[1].name: expected a unique name, "icmp:a" is also targets[0]',
    ],
    [
      'probe: { targets: [{ kind: icmp, host: a, timeoutMs: 2000 }] }',
      'probe.targets[0].timeoutMs: expected less than verdict.staleAfterMs (2000 ms), got 2000',
    ],
    ['verdict: { failingTargets: 4 }', 'verdict.failingTargets: expected at most the number of probe targets (3), got 4'],
    ['verdict: { failuresToFail: 4 }', 'verdict.failuresToFail: expected more than half of windowProbes (> 5), got 4'],
    ['verdict: { bogus: 1 }', 'verdict.bogus: unknown field (check the spelling)'],
    ['heartbeat: { lostAfterMissed: 0 }', 'heartbeat.lostAfterMissed: expected at least 1'],
    ['heartbeat: { port: 0 }', 'heartbeat.port: expected a port from 1 to 65535'],
    ['controller: { fallbackNatGatewayIds: { a: igw-123 } }', 'controller.fallbackNatGatewayIds.a: expected a NAT Gateway id like nat-0123456789abcdef0'],
    ['controller: { maxTransitions: 0 }', 'controller.maxTransitions: expected at least 1'],
    ['controller: { zones: [] }', 'controller.zones: expected at least one zone (or leave zones out: every tagged zone)'],
    ['peers: { mode: discover, tag: nokeyvalue }', 'peers.tag: expected KEY=VALUE, e.g. natkeeper:role=nat'],
    ['ec2: { floatingEni: { id: eni-1, carry: true } }', 'ec2.floatingEni.id: expected an ENI id like eni-0123456789abcdef0 (eni- and 8 to 17 hex digits)'],
    ['peers: { mode: gossip }', 'peers.mode: expected mode static or discover'],
    ['peers: { mode: static, nodes: [] }', 'peers.nodes: expected at least one peer'],
    ['peers: { mode: static, nodes: [{ id: p, address: 10.0.0.300 }] }', 'peers.nodes[0].address: expected an IPv4 address'],
    ['peers: { mode: static, nodes: [{ id: p, address: 10.0.0.1 }, { id: p, address: 10.0.0.2 }] }', 'peers.nodes[1].id: expected a unique peer id, got "p" twice'],
    ['node: { id: me }\npeers: { mode: static, nodes: [{ id: me, address: 10.0.0.1 }] }', 'peers.nodes[0].id: expected another node, "me" is node.id'],
    [
      'verdict: { minVantages: 3 }\npeers: { mode: static, nodes: [{ id: p, address: 10.0.0.1 }] }',
      'verdict.minVantages: expected at most 1 + the number of static peers (2), got 3: the node could never be found unhealthy',
    ],
    ['node: { zone: europe }', 'node.zone: expected an availability zone like eu-west-1a'],
    ['region: eu-west', 'region: expected a region like eu-west-1'],
    ['endpoints: { ec2: "ftp://x" }', 'endpoints.ec2: expected an http:// or https:// URL'],
    ['endpoints: { s3: "http://x" }', 'endpoints.s3: unknown field (check the spelling)'],
    ['dataplane: { conntrack: { max: 5 } }', 'dataplane.conntrack.max: expected an integer from 1024 to 2147483647, got 5'],
    ['dataplane: { rpFilter: medium }', 'dataplane.rpFilter: expected one of off, strict, loose, got "medium"'],
    ['dataplane: { egressInterfaces: [eth0, "a b"] }', 'dataplane.egressInterfaces[1]: expected an interface name (1-15 of A-Z a-z 0-9 _ . : @ -), got "a b"'],
    ['dataplane: { excludeDestinations: [10.0.0.0/40] }', 'dataplane.excludeDestinations[0]: expected an IPv4 CIDR like 10.0.0.0/16, got "10.0.0.0/40"'],
    ['dataplane: { egressInterfaces: [] }', 'dataplane.egressInterfaces: expected at least one interface name'],
    ['imds: { pollIntervalMs: 10 }', 'imds.pollIntervalMs: expected at least 100 ms'],
    ['http: { listen: 9469 }', 'http.listen: expected host:port like 127.0.0.1:9469 or [::1]:9469 (a string)'],
    ['http: { listen: "localhost" }', 'http.listen: expected host:port like 127.0.0.1:9469 or [::1]:9469, got "localhost"'],
    ['log: { level: trace }', 'log.level: expected debug, info, warn or error'],
    ['lgo: { level: debug }', 'lgo: unknown field (check the spelling)'],
  ])('%s', (text, expected) => {
    expect(issues(text)).toContain(expected);
  });

  it('reports every bad field at once', () => {
    expect(issues('probe: { intervalMs: 1 }\nlog: { level: x }')).toEqual([
      'probe.intervalMs: expected at least 20 ms',
      'log.level: expected debug, info, warn or error',
    ]);
  });

  it('refuses a file that is not YAML, naming the file', () => {
    expect(() => parseAgentConfig('probe: [', 'bad.yaml')).toThrow(/bad\.yaml is not valid YAML or JSON/);
  });
});

describe('agent config: files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natkeeper-config-'));

  it('loads a file', () => {
    const p = join(dir, 'ok.yaml');
    writeFileSync(p, 'log: { level: warn }\n');
    expect(loadAgentConfig(p).log.level).toBe('warn');
  });

  it('names the file and the field of a bad file', () => {
    const p = join(dir, 'bad.yaml');
    writeFileSync(p, 'lease: { ttlMs: 4000, renewEveryMs: 2000 }\n');
    expect(() => loadAgentConfig(p)).toThrow(`${p} is not valid:\n  lease.renewEveryMs: expected less than ttlMs / 2 (< 2000 ms), got 2000`);
  });

  it('a missing file is a ConfigError', () => {
    expect(() => loadAgentConfig(join(dir, 'none.yaml'))).toThrow(/cannot read .*none\.yaml: ENOENT/);
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9469', { host: '127.0.0.1', port: 9469 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['127.0.0.1', undefined],
    ['127.0.0.1:70000', undefined],
    ['::1:80', undefined],
    ['', undefined],
  ])('%s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });
});
