// Chaos verbs: the faults an operator (or a test, or the demo) can inject into a
// running lab. Requests are validated here; lab.ts carries them out. Every verb
// is reversible (kill by StartInstances or the ASG's replacement) and logged.

import { z } from 'zod';

const instanceRef = z.string().min(1, 'expected an instance ID or Name tag');
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'expected an IPv4 address');

export const chaosRequestSchema = z.discriminatedUnion('verb', [
  z.object({ verb: z.literal('kill'), instance: instanceRef }).strict(),
  z.object({ verb: z.literal('hang'), instance: instanceRef }).strict(),
  z.object({ verb: z.literal('unhang'), instance: instanceRef }).strict(),
  z.object({ verb: z.literal('freeze'), instance: instanceRef, process: z.string().min(1, 'expected a PID or a process name pattern') }).strict(),
  z.object({ verb: z.literal('thaw'), instance: instanceRef, process: z.string().min(1, 'expected a PID or a process name pattern') }).strict(),
  z.object({ verb: z.literal('partition'), a: instanceRef, b: instanceRef }).strict(),
  z.object({ verb: z.literal('heal'), a: instanceRef, b: instanceRef }).strict(),
  z.object({ verb: z.literal('loss'), instance: instanceRef, pct: z.number().min(0).max(100) }).strict(),
  z.object({ verb: z.literal('delay'), instance: instanceRef, ms: z.number().int().min(0).max(10_000) }).strict(),
  z.object({ verb: z.literal('target-down'), ip: ipv4 }).strict(),
  z.object({ verb: z.literal('target-up'), ip: ipv4 }).strict(),
  z.object({ verb: z.literal('spot-interrupt'), instance: instanceRef, action: z.enum(['terminate', 'stop']).default('terminate') }).strict(),
  z.object({ verb: z.literal('rebalance'), instance: instanceRef }).strict(),
  z.object({ verb: z.literal('api-errors'), rate: z.number().min(0).max(1) }).strict(),
  z.object({ verb: z.literal('api-latency'), action: z.string().regex(/^[A-Z][A-Za-z]+$/, 'expected an API action like ReplaceRoute'), ms: z.number().int().min(0).max(60_000) }).strict(),
]);

export type ChaosRequest = z.infer<typeof chaosRequestSchema>;
export type ChaosVerb = ChaosRequest['verb'];

export const CHAOS_VERBS: ChaosVerb[] = chaosRequestSchema.options.map((o) => o.shape.verb.value);

export interface ChaosLogEntry {
  time: string;
  verb: ChaosVerb;
  args: Omit<ChaosRequest, 'verb'>;
  outcome: 'done' | 'refused';
  detail?: string;
}

/** How many words each verb takes on the command line, at most (more is a usage error, not silently ignored). */
export const CHAOS_MAX_WORDS: Readonly<Record<ChaosVerb, number>> = {
  kill: 1,
  hang: 1,
  unhang: 1,
  rebalance: 1,
  freeze: 2,
  thaw: 2,
  partition: 2,
  heal: 2,
  loss: 2,
  delay: 2,
  'target-down': 1,
  'target-up': 1,
  'spot-interrupt': 2,
  'api-errors': 1,
  'api-latency': 2,
};

/**
 * Turns CLI words into a request: `kill nat-a1`, `loss nat-a1 20`, `partition nat-a1 nat-a2`,
 * `api-latency ReplaceRoute 500`. Validation (with field names) is the schema's job.
 */
export function chaosRequestFromWords(verb: string, words: string[]): unknown {
  const num = (w: string | undefined) => (w === undefined || w.trim() === '' ? w : Number.isNaN(Number(w)) ? w : Number(w));
  switch (verb) {
    case 'kill':
    case 'hang':
    case 'unhang':
    case 'rebalance':
      return { verb, instance: words[0] };
    case 'freeze':
    case 'thaw':
      return { verb, instance: words[0], process: words[1] };
    case 'partition':
    case 'heal':
      return { verb, a: words[0], b: words[1] };
    case 'loss':
      return { verb, instance: words[0], pct: num(words[1]) };
    case 'delay':
      return { verb, instance: words[0], ms: num(words[1]) };
    case 'target-down':
    case 'target-up':
      return { verb, ip: words[0] };
    case 'spot-interrupt':
      return { verb, instance: words[0], ...(words[1] ? { action: words[1] } : {}) };
    case 'api-errors':
      return { verb, rate: num(words[0]) };
    case 'api-latency':
      return { verb, action: words[0], ms: num(words[1]) };
    default:
      return { verb };
  }
}
