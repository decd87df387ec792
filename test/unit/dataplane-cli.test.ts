import { describe, expect, it } from 'vitest';
import { parseDataplaneArgs, runDataplaneCli, UsageError } from '../../src/cli/dataplane.js';
import type { Runner } from '../../src/dataplane/runner.js';

describe('natkeeper dataplane arguments', () => {
  it('parses a full command line', () => {
    expect(
      parseDataplaneArgs([
        'apply',
        '--egress-interface',
        'eth0',
        '--egress-interface',
        'eth1',
        '--conntrack-max',
        '262144',
        '--tcp-established-timeout',
        '350',
        '--udp-timeout',
        '60',
        '--rp-filter',
        'strict',
        '--exclude-cidr',
        '10.0.1.0/16',
        '--probe-target',
        '198.51.100.10:7',
        '--state-file',
        '/tmp/x.json',
        '--json',
      ]),
    ).toEqual({
      action: 'apply',
      egressInterfaces: ['eth0', 'eth1'],
      excludeCidrs: ['10.0.0.0/16'],
      conntrackMax: 262144,
      tcpEstablishedTimeoutSec: 350,
      udpTimeoutSec: 60,
      rpFilter: 'strict',
      imdsUrl: 'http://169.254.169.254',
      stateFile: '/tmp/x.json',
      selfNamespace: 'natkeeper-self',
      probeTarget: { host: '198.51.100.10', port: 7 },
      json: true,
    });
  });

  it.each([
    [['apply', '--conntrack-max', 'lots'], '--conntrack-max'],
    [['apply', '--conntrack-max', '12'], '--conntrack-max'],
    [['apply', '--tcp-established-timeout', '-5'], '--tcp-established-timeout'],
    [['apply', '--tcp-established-timeout', '1.5'], '--tcp-established-timeout'],
    [['apply', '--udp-timeout', '0'], '--udp-timeout'],
    [['apply', '--egress-interface', 'eth 0'], '--egress-interface'],
    [['apply', '--rp-filter', 'maybe'], '--rp-filter'],
    [['apply', '--exclude-cidr', 'ten'], '--exclude-cidr'],
    [['apply', '--probe-target', 'nohost'], '--probe-target'],
    [['apply', '--imds-url', 'ftp://x'], '--imds-url'],
    [['restart'], 'action'],
    [['apply', '--frobnicate'], '--frobnicate'],
  ])('%j is refused naming %s', (argv, option) => {
    expect(() => parseDataplaneArgs(argv)).toThrow(UsageError);
    expect(() => parseDataplaneArgs(argv)).toThrow(option);
  });

  it('bad values exit 2 naming the option, and nothing runs', async () => {
    const ran: string[] = [];
    const runner: Runner = async (argv) => {
      ran.push(argv.join(' '));
      return { code: 0, stdout: '', stderr: '' };
    };
    const errs: string[] = [];
    for (const argv of [
      ['apply', '--egress-interface', 'eth0', '--tcp-established-timeout', 'soon'],
      ['reset', '--conntrack-max', 'x'],
      ['verify', '--egress-interface', 'eth0', '--json', 'extra'],
    ]) {
      expect(await runDataplaneCli(argv, { runner, out: () => undefined, err: (s) => errs.push(s) })).toBe(2);
    }
    expect(ran).toEqual([]);
    expect(errs[0]).toBe('natkeeper dataplane: --tcp-established-timeout: expected an integer from 1 to 2147483, got "soon"');
    expect(errs[1]).toMatch(/--conntrack-max/);
  });

  it('verify with explicit interfaces reports differences as JSON and exits 1', async () => {
    const runner: Runner = async (argv) =>
      argv[0] === 'sysctl' ? { code: 0, stdout: '0\n', stderr: '' } : { code: 1, stdout: '', stderr: 'Error: No such file or directory' };
    const out: string[] = [];
    expect(await runDataplaneCli(['verify', '--egress-interface', 'eth0', '--json'], { runner, out: (s) => out.push(s), err: () => undefined })).toBe(1);
    const doc = JSON.parse(out.join('\n'));
    expect(doc.ok).toBe(false);
    expect(doc.differences.map((d: { name: string }) => d.name)).toContain('nft table ip natkeeper');
    expect(doc.differences).toContainEqual({ name: 'sysctl net.ipv4.ip_forward', expected: '1', actual: '0' });
  });
});
