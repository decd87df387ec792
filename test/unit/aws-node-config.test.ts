import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NODE_SETUP_DEFAULTS } from '../../src/aws/node-setup.js';
import { AWS_NODE_DEFAULTS, awsNodeConfigSchema } from '../../src/config/aws-node-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load-file.js';

// The section as the agent's file holds it, so error lines show their full path.
const fileSchema = z.strictObject({ ec2: awsNodeConfigSchema.prefault({}) });
const parse = (text: string) => parseConfigText(fileSchema, text, 'test.yaml').ec2;

function issues(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error(`expected ${text} to be refused`);
}

const ENI = 'eni-0123456789abcdef0';

describe('agent config: ec2 section', () => {
  it('an absent or empty section takes the documented defaults, no floating ENI', () => {
    const expected = { sourceDestCheck: 'disable', attachTimeoutMs: 60_000, attachPollIntervalMs: 500 };
    expect(parse('')).toEqual(expected);
    expect(parse('ec2: {}')).toEqual(expected);
  });

  it('keeps the same defaults as src/aws/node-setup.ts', () => {
    expect([AWS_NODE_DEFAULTS.deviceIndex, AWS_NODE_DEFAULTS.attachTimeoutMs, AWS_NODE_DEFAULTS.attachPollIntervalMs]).toEqual([
      NODE_SETUP_DEFAULTS.deviceIndex,
      NODE_SETUP_DEFAULTS.attachTimeoutMs,
      NODE_SETUP_DEFAULTS.pollIntervalMs,
    ]);
  });

  it('a floating ENI with only its id: carry false, device index 1', () => {
    expect(parse(`ec2: { floatingEni: { id: ${ENI} } }`).floatingEni).toEqual({ id: ENI, carry: false, deviceIndex: 1 });
    expect(parse(`ec2: { sourceDestCheck: leave, floatingEni: { id: eni-0a1b2c3d, carry: true, deviceIndex: 15 }, attachTimeoutMs: 5000 }`)).toEqual({
      sourceDestCheck: 'leave',
      floatingEni: { id: 'eni-0a1b2c3d', carry: true, deviceIndex: 15 },
      attachTimeoutMs: 5000,
      attachPollIntervalMs: 500,
    });
  });

  it.each([
    ['a short id', 'ec2: { floatingEni: { id: eni-123 } }', 'ec2.floatingEni.id: expected an ENI id like eni-0123456789abcdef0 (eni- and 8 to 17 hex digits)'],
    ['upper-case hex', 'ec2: { floatingEni: { id: eni-0123456789ABCDEF0 } }', 'ec2.floatingEni.id: expected an ENI id like eni-0123456789abcdef0 (eni- and 8 to 17 hex digits)'],
    ['an instance id', 'ec2: { floatingEni: { id: i-0123456789abcdef0 } }', 'ec2.floatingEni.id: expected an ENI id like eni-0123456789abcdef0 (eni- and 8 to 17 hex digits)'],
    ['no id', 'ec2: { floatingEni: { carry: true } }', 'ec2.floatingEni.id: expected an ENI id like eni-0123456789abcdef0'],
    ['device index 0', `ec2: { floatingEni: { id: ${ENI}, deviceIndex: 0 } }`, 'ec2.floatingEni.deviceIndex: expected a device index from 1 to 15 (0 is the primary ENI)'],
    ['device index 16', `ec2: { floatingEni: { id: ${ENI}, deviceIndex: 16 } }`, 'ec2.floatingEni.deviceIndex: expected a device index from 1 to 15'],
    ['device index 1.5', `ec2: { floatingEni: { id: ${ENI}, deviceIndex: 1.5 } }`, 'ec2.floatingEni.deviceIndex: expected a device index from 1 to 15'],
    ['device index as text', `ec2: { floatingEni: { id: ${ENI}, deviceIndex: one } }`, 'ec2.floatingEni.deviceIndex: expected a device index from 1 to 15'],
    ['carry as text', `ec2: { floatingEni: { id: ${ENI}, carry: yes please } }`, 'ec2.floatingEni.carry: expected true or false'],
    ['an unknown source/dest mode', 'ec2: { sourceDestCheck: off }', 'ec2.sourceDestCheck: expected disable or leave'],
    ['a tiny timeout', 'ec2: { attachTimeoutMs: 10 }', 'ec2.attachTimeoutMs: expected at least 1000 ms'],
    ['an unknown key', 'ec2: { sourceDestCheck: leave, floatingENI: {} }', 'ec2.floatingENI: unknown field (check the spelling)'],
    ['an unknown key in floatingEni', `ec2: { floatingEni: { id: ${ENI}, device: 1 } }`, 'ec2.floatingEni.device: unknown field (check the spelling)'],
  ])('refuses %s, naming the field', (_what, text, expected) => {
    expect(issues(text)).toEqual([expected]);
  });
});
