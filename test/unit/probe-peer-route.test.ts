import { describe, expect, it } from 'vitest';
import type { Runner } from '../../src/dataplane/runner.js';
import {
  PROBE_DELETE_SCRIPT,
  PeerRouteError,
  PortAllocator,
  applyPeerRoutes,
  peerRouteCommands,
  peerRouteRemoveCommands,
  probeRuleset,
  removeAllPeerRouting,
  removePeerRoutes,
  validatePeerRoutes,
  type PeerRoute,
} from '../../src/probe/peer-route.js';
import { parseTarget, TargetError } from '../../src/probe/targets.js';
import { selfJobs, throughPeerJobs } from '../../src/probe/jobs.js';

const a2: PeerRoute = { peerId: 'i-0a2', peerIp: '10.0.1.12', portRange: { from: 61000, to: 61099 }, mark: 0x4e4b0001, table: 201 };
const b1: PeerRoute = { peerId: 'i-0b1', peerIp: '10.0.2.11', portRange: { from: 61100, to: 61199 }, mark: 0x4e4b0002, table: 202 };

describe('probeRuleset', () => {
  it('marks each peer range in a route chain of natkeeper_probe, recreated idempotently', () => {
    expect(probeRuleset([a2, b1])).toBe(
      [
        'table ip natkeeper_probe {}',
        'delete table ip natkeeper_probe',
        'table ip natkeeper_probe {',
        '  chain output {',
        '    type route hook output priority mangle; policy accept;',
        '    tcp sport 61000-61099 meta mark set 0x4e4b0001 comment "natkeeper probe via i-0a2"',
        '    udp sport 61000-61099 meta mark set 0x4e4b0001 comment "natkeeper probe via i-0a2"',
        '    tcp sport 61100-61199 meta mark set 0x4e4b0002 comment "natkeeper probe via i-0b1"',
        '    udp sport 61100-61199 meta mark set 0x4e4b0002 comment "natkeeper probe via i-0b1"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('the delete script declares before deleting (succeeds when absent)', () => {
    expect(PROBE_DELETE_SCRIPT).toBe('table ip natkeeper_probe {}\ndelete table ip natkeeper_probe\n');
  });
});

describe('peerRouteCommands', () => {
  it('replaces the default route in the peer table and installs an exact fwmark rule', () => {
    expect(peerRouteCommands(a2, 0)).toEqual({
      prepare: [['ip', 'rule', 'del', 'priority', '1000', 'fwmark', '0x4e4b0001/0xffffffff', 'lookup', '201']],
      install: [
        ['ip', 'route', 'replace', 'default', 'via', '10.0.1.12', 'table', '201'],
        ['ip', 'rule', 'add', 'priority', '1000', 'fwmark', '0x4e4b0001/0xffffffff', 'lookup', '201'],
      ],
    });
    expect(peerRouteCommands({ ...b1, priority: 900 }, 1).install[1]).toContain('900');
    expect(peerRouteRemoveCommands(b1, 1)).toEqual([
      ['ip', 'rule', 'del', 'priority', '1001', 'fwmark', '0x4e4b0002/0xffffffff', 'lookup', '202'],
      ['ip', 'route', 'flush', 'table', '202'],
    ]);
  });
});

describe('validatePeerRoutes', () => {
  const cases: [string, PeerRoute[], RegExp][] = [
    ['bad ip', [{ ...a2, peerIp: '10.0.1' }], /peers\[0\]\.peerIp: expected an IPv4 address/],
    ['bad id', [{ ...a2, peerId: 'a b"' }], /peers\[0\]\.peerId/],
    ['reversed range', [{ ...a2, portRange: { from: 61099, to: 61000 } }], /peers\[0\]\.portRange/],
    ['privileged range', [{ ...a2, portRange: { from: 80, to: 90 } }], /portRange/],
    ['zero mark', [{ ...a2, mark: 0 }], /peers\[0\]\.mark/],
    ['main table', [{ ...a2, table: 254 }], /peers\[0\]\.table: expected 1-252 or 256/],
    ['overlap', [a2, { ...b1, portRange: { from: 61050, to: 61150 } }], /peers\[1\]\.portRange: overlaps peers\[0\]/],
    ['same mark', [a2, { ...b1, mark: a2.mark }], /peers\[1\]\.mark/],
    ['same table', [a2, { ...b1, table: a2.table }], /peers\[1\]\.table/],
  ];
  it.each(cases)('%s', (_name, routes, msg) => {
    expect(() => validatePeerRoutes(routes)).toThrow(PeerRouteError);
    expect(() => validatePeerRoutes(routes)).toThrow(msg);
  });
  it('accepts disjoint peers', () => expect(() => validatePeerRoutes([a2, b1])).not.toThrow());
});

function recordingRunner(fail: (argv: readonly string[]) => boolean = () => false): { runner: Runner; calls: { argv: string[]; input?: string }[] } {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner: Runner = async (argv, opts) => {
    calls.push({ argv: [...argv], ...(opts?.input !== undefined ? { input: opts.input } : {}) });
    return fail(argv) ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: No such process' } : { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls };
}

describe('apply/remove through a Runner', () => {
  it('apply loads the ruleset then each peer rule and route; a failing rule del is harmless', async () => {
    const { runner, calls } = recordingRunner((argv) => argv[2] === 'del');
    expect(await applyPeerRoutes(runner, [a2])).toEqual({ ok: true });
    expect(calls.map((c) => c.argv.join(' '))).toEqual([
      'nft -f -',
      'ip rule del priority 1000 fwmark 0x4e4b0001/0xffffffff lookup 201',
      'ip route replace default via 10.0.1.12 table 201',
      'ip rule add priority 1000 fwmark 0x4e4b0001/0xffffffff lookup 201',
    ]);
    expect(calls[0]!.input).toBe(probeRuleset([a2]));
  });

  it('apply reports the failing command and stops', async () => {
    const { runner, calls } = recordingRunner((argv) => argv[1] === 'route');
    const r = await applyPeerRoutes(runner, [a2, b1]);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/`ip route replace default via 10.0.1.12 table 201` failed \(exit 2\)/);
    expect(calls).toHaveLength(3);
  });

  it('apply refuses invalid input before running anything', async () => {
    const { runner, calls } = recordingRunner();
    const r = await applyPeerRoutes(runner, [{ ...a2, peerIp: 'nope' }]);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/peerIp/) });
    expect(calls).toHaveLength(0);
  });

  it('remove deletes rules, flushes tables, deletes the nft table', async () => {
    const { runner, calls } = recordingRunner();
    expect(await removePeerRoutes(runner, [a2])).toEqual({ ok: true });
    expect(calls.map((c) => c.argv.join(' '))).toEqual([
      'ip rule del priority 1000 fwmark 0x4e4b0001/0xffffffff lookup 201',
      'ip route flush table 201',
      'nft -f -',
    ]);
    expect(calls[2]!.input).toBe(PROBE_DELETE_SCRIPT);
  });
});

describe('PortAllocator and jobs', () => {
  it('hands out ports round-robin within the range', () => {
    const p = new PortAllocator({ from: 61000, to: 61002 });
    expect([p.take(), p.take(), p.take(), p.take()]).toEqual([61000, 61001, 61002, 61000]);
  });

  it('peer jobs test the peer from vantage peer:<self>, with a source port or a mark', () => {
    const targets = [parseTarget('tcp://198.51.100.10:7'), parseTarget('icmp://198.51.100.11')];
    const jobs = throughPeerJobs('i-0a1', a2, targets, 500);
    expect(jobs.map((j) => [j.node, j.vantage, j.timeoutMs])).toEqual([
      ['i-0a2', 'peer:i-0a1', 500],
      ['i-0a2', 'peer:i-0a1', 500],
    ]);
    expect(jobs[0]!.socketOptions!()).toEqual({ localPort: 61000 });
    expect(jobs[0]!.socketOptions!()).toEqual({ localPort: 61001 });
    expect(jobs[1]!.socketOptions!()).toEqual({ mark: a2.mark });
    expect(selfJobs('i-0a1', targets).map((j) => [j.node, j.vantage])).toEqual([
      ['i-0a1', 'self'],
      ['i-0a1', 'self'],
    ]);
  });
});

describe('parseTarget', () => {
  it.each([
    ['tcp://198.51.100.10:443', { kind: 'tcp', host: '198.51.100.10', port: 443 }],
    ['http://198.51.100.10/health', { kind: 'http', url: 'http://198.51.100.10/health' }],
    ['https://example.test/', { kind: 'http', url: 'https://example.test/' }],
    ['icmp://203.0.113.10', { kind: 'icmp', host: '203.0.113.10' }],
  ])('%s', (spec, expected) => expect(parseTarget(spec)).toMatchObject({ ...expected, name: spec }));

  it.each([
    ['tcp://198.51.100.10', /expected a port/],
    ['udp://198.51.100.10:53', /unknown scheme "udp:"/],
    ['icmp://198.51.100.10:5', /no port/],
    ['not a url', /expected tcp:\/\/host:port/],
  ])('%s is refused', (spec, msg) => {
    expect(() => parseTarget(spec)).toThrow(TargetError);
    expect(() => parseTarget(spec)).toThrow(msg);
  });
});

describe('removeAllPeerRouting (dataplane reset)', () => {
  it('removes the rules in natkeeper’s mark range, their tables and the probe table; leaves other rules alone', async () => {
    const calls: string[] = [];
    const rules = [
      { priority: 0, src: 'all', table: 'local' },
      { priority: 1000, src: 'all', fwmark: '0x4e4b0001', table: '201' },
      { priority: 1001, src: 'all', fwmark: '0x4e4b0002', table: '202' },
      { priority: 1500, src: 'all', fwmark: '0x10', table: '99' },
      { priority: 32766, src: 'all', table: 'main' },
    ];
    const runner: Runner = async (argv) => {
      calls.push(argv.join(' '));
      if (argv.join(' ') === 'ip -j rule show') return { code: 0, stdout: JSON.stringify(rules), stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    const removed = await removeAllPeerRouting(runner, { base: 0x4e4b0001, count: 256 });
    expect(removed).toEqual(['ip rule 1000 fwmark 0x4e4b0001 lookup 201', 'routing table 201', 'ip rule 1001 fwmark 0x4e4b0002 lookup 202', 'routing table 202', 'nft table ip natkeeper_probe']);
    expect(calls.some((c) => c.includes('fwmark 0x00000010'))).toBe(false);
    expect(calls.some((c) => c.includes('table 99'))).toBe(false);
  });
});
