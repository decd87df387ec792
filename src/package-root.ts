// The package root, found from a module's own directory: the same code works from the
// repository (sources under vitest, compiled under dist/) and from an installed package
// (node_modules/natkeeper/dist/...). The CDK construct finds its bundles from it, the lab
// its compiled scripts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above `from` whose package.json is natkeeper's. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isNatkeeperManifest(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no natkeeper package.json at or above ${from}`);
  }
}

function isNatkeeperManifest(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'natkeeper';
  } catch {
    // Unreadable or not JSON: not ours, keep looking.
    return false;
  }
}
