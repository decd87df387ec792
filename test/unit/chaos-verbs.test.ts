import { describe, expect, it } from 'vitest';
import { describeZodIssues } from '../../src/config/errors.js';
import { CHAOS_VERBS, chaosRequestFromWords, chaosRequestSchema } from '../../lab/chaos/verbs.js';

const parse = (verb: string, words: string[]) => chaosRequestSchema.safeParse(chaosRequestFromWords(verb, words));

describe('chaos verbs from CLI words', () => {
  it.each([
    ['kill', ['nat-a1'], { verb: 'kill', instance: 'nat-a1' }],
    ['loss', ['nat-a1', '20'], { verb: 'loss', instance: 'nat-a1', pct: 20 }],
    ['partition', ['nat-a1', 'nat-a2'], { verb: 'partition', a: 'nat-a1', b: 'nat-a2' }],
    ['spot-interrupt', ['nat-b1'], { verb: 'spot-interrupt', instance: 'nat-b1', action: 'terminate' }],
    ['spot-interrupt', ['nat-b1', 'stop'], { verb: 'spot-interrupt', instance: 'nat-b1', action: 'stop' }],
    ['api-latency', ['ReplaceRoute', '500'], { verb: 'api-latency', action: 'ReplaceRoute', ms: 500 }],
    ['api-errors', ['0.05'], { verb: 'api-errors', rate: 0.05 }],
    ['target-down', ['198.51.100.10'], { verb: 'target-down', ip: '198.51.100.10' }],
  ])('%s %j', (verb, words, expected) => {
    const r = parse(verb, words);
    expect(r.success && r.data).toEqual(expected);
  });

  it.each([
    ['loss', ['nat-a1', 'lots'], 'pct'],
    ['loss', ['nat-a1', '120'], 'pct'],
    ['loss', ['nat-a1'], 'pct'],
    ['kill', [], 'instance'],
    ['api-errors', ['2'], 'rate'],
    ['api-latency', ['replace route', '5'], 'action'],
    ['target-down', ['example.com'], 'ip'],
    ['spot-interrupt', ['nat-a1', 'hibernate'], 'action'],
  ])('%s %j is refused naming %s', (verb, words, field) => {
    const r = parse(verb, words);
    expect(r.success).toBe(false);
    if (!r.success) expect(describeZodIssues(r.error).some((l) => l.startsWith(field))).toBe(true);
  });

  it('knows every verb the issue asks for', () => {
    for (const v of ['kill', 'hang', 'freeze', 'thaw', 'partition', 'loss', 'delay', 'target-down', 'target-up', 'spot-interrupt', 'rebalance', 'api-errors', 'api-latency'])
      expect(CHAOS_VERBS).toContain(v);
  });
});
