// Structured JSON logs, one object per line, with stable keys
// (event, zone, node, action, token, durationMs) so they can be queried.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  write?: (line: string) => void;
  level?: LogLevel;
  now?: () => number;
  base?: LogFields;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = ORDER[opts.level ?? 'info'];
  const now = opts.now ?? Date.now;
  const base = opts.base ?? {};
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const record = { time: new Date(now()).toISOString(), level, event, ...base, ...fields };
    write(JSON.stringify(record, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v)));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests that do not inspect logs). */
export const silentLogger: Logger = createLogger({ write: () => {} , level: 'error' });
