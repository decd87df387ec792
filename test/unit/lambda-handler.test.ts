// The handler's environment: a broken NATKEEPER_CONFIG is one clear log line naming the
// field, and a thrown ConfigError (an operator error, not bad input) — no AWS call.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { createHandler, loadLambdaEnv } from '../../src/lambda/handler.js';

const VPC = 'vpc-0123456789abcdef0';
const ok = { region: 'eu-west-1', lease: { store: 'dynamodb', table: 'natkeeper-lease' }, controller: { vpcId: VPC, zones: ['eu-west-1a'], failbackAfterMs: 60000 } };

describe('loadLambdaEnv', () => {
  it('the CDK’s example config, holder and namespace defaults', () => {
    const e = loadLambdaEnv({ NATKEEPER_CONFIG: JSON.stringify(ok), AWS_LAMBDA_FUNCTION_NAME: 'nk' });
    expect(e.holder).toBe('lambda:nk');
    expect(e.namespace).toBe('NatKeeper');
    expect(e.config.controller.vpcId).toBe(VPC);
    expect(e.config.lease).toMatchObject({ store: 'dynamodb', table: 'natkeeper-lease', ttlMs: 6000 });
  });
  it('NATKEEPER_HOLDER and NATKEEPER_METRICS_NAMESPACE override', () => {
    const e = loadLambdaEnv({ NATKEEPER_CONFIG: JSON.stringify(ok), NATKEEPER_HOLDER: 'lambda:custom', NATKEEPER_METRICS_NAMESPACE: 'Nk/Prod' });
    expect(e).toMatchObject({ holder: 'lambda:custom', namespace: 'Nk/Prod' });
  });
  const bad: [string, Record<string, string>, RegExp][] = [
    ['missing', {}, /NATKEEPER_CONFIG: required/],
    ['empty', { NATKEEPER_CONFIG: ' ' }, /NATKEEPER_CONFIG: required/],
    ['not JSON/YAML', { NATKEEPER_CONFIG: '{"region":' }, /NATKEEPER_CONFIG is not valid YAML or JSON/],
    ['no vpcId', { NATKEEPER_CONFIG: JSON.stringify({ ...ok, controller: {} }) }, /controller\.vpcId: required for the Lambda/],
    ['a bad vpcId', { NATKEEPER_CONFIG: JSON.stringify({ ...ok, controller: { vpcId: 'vpc-x' } }) }, /controller\.vpcId: expected a VPC id/],
    ['etcd', { NATKEEPER_CONFIG: JSON.stringify({ ...ok, lease: { store: 'etcd', endpoint: 'http://127.0.0.1:2379' } }) }, /lease\.store: expected dynamodb/],
    ['an unknown field', { NATKEEPER_CONFIG: JSON.stringify({ ...ok, regoin: 'x' }) }, /regoin: unknown field/],
  ];
  it.each(bad)('%s → ConfigError naming the field', (_n, env, message) => {
    expect(() => loadLambdaEnv(env)).toThrow(ConfigError);
    expect(() => loadLambdaEnv(env)).toThrow(message);
  });
});

describe('createHandler with a broken config', () => {
  it('logs one config_invalid line naming the field per invocation and throws', async () => {
    const lines: string[] = [];
    const handler = createHandler({ NATKEEPER_CONFIG: JSON.stringify({ ...ok, controller: {} }) }, (l) => lines.push(l));
    await expect(handler({}, { awsRequestId: 'r-1' })).rejects.toThrow(/controller\.vpcId: required/);
    await expect(handler({}, { awsRequestId: 'r-2' })).rejects.toThrow(ConfigError);
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'error', event: 'config_invalid', requestId: 'r-1', issues: [expect.stringMatching(/^controller\.vpcId: required/)] });
  });
});
