import { describe, expect, it } from 'vitest';
import { runConfigCli } from '../../src/cli/config-check.js';
import { cliRunner, tempFiles } from '../support/cli-run.js';

const file = tempFiles('natkeeper-config-cli-');
const run = cliRunner(runConfigCli);

describe('natkeeper config check', () => {
  it('exits 0 with a summary for a valid file', async () => {
    const p = file('ok.yaml', 'node: { id: i-1 }\nhttp: { listen: "0.0.0.0:9469" }\n');
    const r = await run(['check', p]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain(`${p}: valid`);
    expect(r.out).toContain('3 target(s) every 200 ms: tcp:1.1.1.1:443, http:checkip.amazonaws.com:80, tcp:8.8.8.8:443');
    expect(r.out).toContain('dynamodb table natkeeper, ttl 6000 ms, renew every 2000 ms');
    expect(r.out).toContain('0.0.0.0:9469');
  });

  it('--json prints the config with defaults filled in', async () => {
    const r = await run(['check', file('j.yaml', 'probe: { intervalMs: 300 }'), '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out);
    expect(c.probe.intervalMs).toBe(300);
    expect(c.heartbeat.intervalMs).toBe(100);
  });

  it('exits 2 naming the file, the field and the expected value', async () => {
    const p = file('bad.yaml', 'lease: { ttlMs: 6000, renewEveryMs: 3000 }\nprobe: { targets: [{ kind: tcp, host: x, port: 0 }] }\n');
    const r = await run(['check', p]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `natkeeper config check: ${p} is not valid:\n` +
        '  probe.targets[0].port: expected a port from 1 to 65535\n' +
        '  lease.renewEveryMs: expected less than ttlMs / 2 (< 3000 ms), got 3000',
    );
  });

  it('exits 2 for a missing file', async () => {
    const r = await run(['check', '/nonexistent/natkeeper/missing.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read .*missing\.yaml: ENOENT/);
  });

  it.each([[['check']], [['check', 'a', 'b']], [['lint', 'a']], [['check', 'a', '--bogus']]])('exits 2 on bad usage %j', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^natkeeper config: /);
  });

  describe('--for lambda: the file as the Lambda\'s NATKEEPER_CONFIG', () => {
    // The contract's example: what the CDK construct gives the Lambda.
    const lambda = {
      region: 'eu-west-1',
      lease: { store: 'dynamodb', table: 'natkeeper-lease' },
      controller: { vpcId: 'vpc-0123456789abcdef0', zones: ['eu-west-1a', 'eu-west-1b'], fallbackNatGatewayIds: { 'eu-west-1a': 'nat-0aaaaaaaaaaaaaaaa' }, failbackAfterMs: 60000 },
    };

    it('the Lambda-style config is valid for the agent schema and for the Lambda', async () => {
      const p = file('lambda.json', JSON.stringify(lambda));
      expect((await run(['check', p])).code).toBe(0);
      const r = await run(['check', p, '--for', 'lambda']);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out.split('\n')).toEqual([
        `${p}: valid for the Lambda (NATKEEPER_CONFIG)`,
        '  region      eu-west-1',
        '  vpc         vpc-0123456789abcdef0',
        '  zones       eu-west-1a, eu-west-1b',
        '  lease       dynamodb table natkeeper-lease, name natkeeper, ttl 6000 ms',
        '  failback    after 60000 ms; fallback NAT gateways: eu-west-1a=nat-0aaaaaaaaaaaaaaaa',
      ]);
    });

    it('a config without controller.vpcId is fine for the agent (IMDS) but exits 2 for the Lambda, naming the field', async () => {
      const p = file('novpc.yaml', 'lease: { table: natkeeper-lease }\ncontroller: { zones: [eu-west-1a] }\n');
      expect((await run(['check', p])).code).toBe(0);
      const r = await run(['check', p, '--for', 'lambda']);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      const [head, ...issues] = r.err.split('\n');
      expect(head).toBe(`natkeeper config check: ${p} is a valid agent config but not a valid Lambda config (NATKEEPER_CONFIG):`);
      expect(issues).toEqual([expect.stringMatching(/^ {2}controller\.vpcId: required for the Lambda/)]);
    });

    it('an etcd lease exits 2 for the Lambda naming lease.store', async () => {
      const p = file('etcd.yaml', 'lease: { store: etcd, endpoint: "http://127.0.0.1:2379" }\ncontroller: { vpcId: vpc-0123456789abcdef0 }\n');
      const r = await run(['check', p, '--for', 'lambda']);
      expect(r.code).toBe(2);
      expect(r.err).toContain('lease.store: expected dynamodb');
    });

    it('--for with another value exits 2 naming --for', async () => {
      const r = await run(['check', file('x.json', '{}'), '--for', 'laptop']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^natkeeper config: .*--for <who>.*laptop/);
    });
  });

  it('--help prints usage and exits 0', async () => {
    const r = await run(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('check [options] <file>');
  });
});
