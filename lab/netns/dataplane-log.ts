// How the data plane reports what it does: one structured entry per event, to a
// natkeeper Logger, a caller's function, or (by default) warnings and errors on stderr.

import type { Logger } from '../../src/telemetry/logger.js';

export interface DataPlaneLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  [key: string]: unknown;
}

export type DataPlaneLog = (entry: DataPlaneLogEntry) => void;

const defaultLog: DataPlaneLog = (e) => {
  if (e.level === 'warn' || e.level === 'error') process.stderr.write(`${JSON.stringify({ component: 'lab-dataplane', ...e })}\n`);
};

/** The log function for a DataPlaneOptions.log value. */
export function logFunction(log: Logger | DataPlaneLog | undefined): DataPlaneLog {
  if (!log) return defaultLog;
  if (typeof log === 'function') return log;
  return ({ level, event, ...fields }) => log[level](event, fields);
}
