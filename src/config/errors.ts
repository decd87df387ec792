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
  return error.issues.map((issue) => {
    const path = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join('');
    return `${path || '(top level)'}: ${issue.message}`;
  });
}

export function configErrorFrom(source: string, error: z.ZodError): ConfigError {
  const issues = describeZodIssues(error);
  return new ConfigError(`${source} is not valid:\n  ${issues.join('\n  ')}`, issues);
}
