import { describe, expect, it } from 'vitest';
import { matchInterfaces, parseIpLinks, resolveEgressInterfaces } from '../../src/dataplane/interfaces.js';

const links = [
  { ifname: 'lo', address: '00:00:00:00:00:00' },
  { ifname: 'ens5', address: '0a:00:00:00:00:01' },
  { ifname: 'ens6', address: '0A:00:00:00:00:02' },
];

describe('matchInterfaces', () => {
  it('pairs MACs with kernel links case-insensitively, in device order', () => {
    expect(
      matchInterfaces(
        [
          { mac: '0a:00:00:00:00:02', deviceNumber: 1 },
          { mac: '0A:00:00:00:00:01', deviceNumber: 0 },
        ],
        links,
      ),
    ).toEqual({
      resolved: [
        { deviceNumber: 0, mac: '0a:00:00:00:00:01', name: 'ens5' },
        { deviceNumber: 1, mac: '0a:00:00:00:00:02', name: 'ens6' },
      ],
      missing: [],
    });
  });

  it('reports MACs no link carries', () => {
    expect(matchInterfaces([{ mac: '0a:00:00:00:00:09', deviceNumber: 2 }], links)).toEqual({ resolved: [], missing: ['0a:00:00:00:00:09'] });
  });
});

describe('parseIpLinks', () => {
  it('reads `ip -j link` output', () => {
    const json = JSON.stringify([
      { ifindex: 1, ifname: 'lo', address: '00:00:00:00:00:00', link_type: 'loopback' },
      { ifindex: 2, ifname: 'eth0', address: '0a:00:00:00:00:01', link_type: 'ether' },
      { ifindex: 3, ifname: 'tun0', link_type: 'none' },
    ]);
    expect(parseIpLinks(json)).toEqual([
      { ifname: 'lo', address: '00:00:00:00:00:00' },
      { ifname: 'eth0', address: '0a:00:00:00:00:01' },
      { ifname: 'tun0', address: '' },
    ]);
  });
});

describe('resolveEgressInterfaces', () => {
  const imds = [
    { mac: '0a:00:00:00:00:01', deviceNumber: 0, vpcCidrs: ['10.0.0.0/16'] },
    { mac: '0a:00:00:00:00:02', deviceNumber: 1, vpcCidrs: ['10.0.0.0/16'] },
  ];
  const noSleep = async () => undefined;

  it('retries until the link of a just-attached ENI appears', async () => {
    let calls = 0;
    const sleeps: number[] = [];
    const got = await resolveEgressInterfaces(
      async () => imds,
      async () => (++calls < 3 ? links.slice(0, 2) : links),
      { attempts: 5, delayMs: 100, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(got.map((r) => r.name)).toEqual(['ens5', 'ens6']);
    expect(calls).toBe(3);
    expect(sleeps).toEqual([100, 100]);
  });

  it('gives up after the bound, naming the missing MAC', async () => {
    await expect(resolveEgressInterfaces(async () => imds, async () => links.slice(0, 2), { attempts: 3, sleep: noSleep })).rejects.toThrow(
      'could not resolve egress interfaces after 3 attempts: no kernel link carries MAC 0a:00:00:00:00:02',
    );
  });

  it('can be limited to some device numbers, and waits for IMDS to list them', async () => {
    let n = 0;
    const got = await resolveEgressInterfaces(async () => (++n < 2 ? imds.slice(0, 1) : imds), async () => links, { deviceNumbers: [1], sleep: noSleep });
    expect(got).toEqual([{ deviceNumber: 1, mac: '0a:00:00:00:00:02', name: 'ens6' }]);
    await expect(resolveEgressInterfaces(async () => imds, async () => links, { deviceNumbers: [4], attempts: 2, sleep: noSleep })).rejects.toThrow(
      /IMDS lists no ENI with device number 4/,
    );
    await expect(resolveEgressInterfaces(async () => [], async () => links, { attempts: 1, sleep: noSleep })).rejects.toThrow(/IMDS lists no network interface/);
  });
});
