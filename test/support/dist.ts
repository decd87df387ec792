// Tests that run built entry points (the CLI, scripts run inside namespaces) need dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

export function distFile(relative: string): string {
  const path = join(repoRoot, 'dist', relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (make build, or tsc -p tsconfig.build.json)`);
  return path;
}
