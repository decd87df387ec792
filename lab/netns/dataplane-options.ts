// What a caller hands the data plane: the lab it mirrors and how it runs, and
// options for commands run inside the lab's namespaces.

import type { Logger } from '../../src/telemetry/logger.js';
import type { LabStore } from '../emulator/store.js';
import type { LabManifest } from '../topology/build.js';
import type { Topology } from '../topology/schema.js';
import type { DataPlaneLogEntry } from './dataplane-log.js';

export interface DataPlaneOptions {
  store: LabStore;
  manifest: LabManifest;
  topology: Topology;
  /** Namespace name prefix, unique per lab (default: "nk<4 hex>-"). */
  prefix?: string;
  /** Where the state file (for crash recovery) goes; none when omitted. */
  runDir?: string;
  /** A natkeeper Logger, or a function taking one entry; default: warnings and errors to stderr. */
  log?: Logger | ((entry: DataPlaneLogEntry) => void);
  /** Apply the lab's minimal NAT bootstrap to running NAT instances (default true; the real agent replaces it). */
  natBootstrap?: boolean;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}
