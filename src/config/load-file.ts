// Reads a YAML or JSON file and validates it with a zod schema; every failure is a ConfigError.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, configErrorFrom } from './errors.js';

export function parseConfigText<S extends z.ZodType>(schema: S, text: string, source: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) throw configErrorFrom(source, result.error);
  return result.data;
}

export function loadConfigFile<S extends z.ZodType>(schema: S, path: string): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(schema, text, path);
}
