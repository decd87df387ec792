// dynalite ships no type declarations; this covers the part we use.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export interface DynaliteOptions {
    /** Simulated delay (ms) before a created table becomes ACTIVE. */
    createTableMs?: number;
    /** Simulated delay (ms) before a deleted table disappears. */
    deleteTableMs?: number;
    /** Simulated delay (ms) before an updated table becomes ACTIVE again. */
    updateTableMs?: number;
    /** LevelDB directory; in-memory when omitted. */
    path?: string;
  }

  /** Creates (but does not start) a DynamoDB-compatible HTTP server; call `listen()` on it. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
