// The lab's helper programs (echo client and server) talk to documentation
// addresses that only exist inside the lab. Run outside a lab namespace they
// would send that traffic to the real network, so they refuse unless this
// process sits in a named network namespace (what `ip netns exec` gives).

import { readdirSync, statSync } from 'node:fs';
import { NETNS_DIR } from './exec.js';

/** The name of the named network namespace this process runs in, or undefined (e.g. the host's). */
export function currentNetnsName(): string | undefined {
  try {
    const self = statSync('/proc/self/ns/net').ino;
    for (const name of readdirSync(NETNS_DIR)) {
      try {
        if (statSync(`${NETNS_DIR}/${name}`).ino === self) return name;
      } catch {
        // Being deleted; not ours.
      }
    }
  } catch {
    // No /var/run/netns at all: no named namespace.
  }
  return undefined;
}

/** True unless this process runs inside a named network namespace. */
export function inHostNetns(): boolean {
  return currentNetnsName() === undefined;
}
