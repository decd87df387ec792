// Config errors that name the field, what was expected, and the file.
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** "zones[1].natInstances: expected a number, got string" — one line per issue. */
export function describeZodIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    // An unknown key is reported on its parent; name the key itself so the line points at it.
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    const message = issue.code === 'unrecognized_keys' ? 'unknown field (check the spelling)' : issue.message;
    return paths.map((segments) => `${formatPath(segments) || '(top level)'}: ${message}`);
  });
}

export function configErrorFrom(source: string, error: z.ZodError): ConfigError {
  const issues = describeZodIssues(error);
  return new ConfigError(`${source} is not valid:\n  ${issues.join('\n  ')}`, issues);
}

/** "zones[1].natInstances" from a zod path. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
