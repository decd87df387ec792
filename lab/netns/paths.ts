// Where the compiled helper scripts live. The data plane runs the echo server,
// and tests run the echo client, from dist/ (`make build`), also when the
// calling code itself runs from TypeScript sources under vitest.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

/** The repository root (lab/ runs from the checkout, so the package root is the repository's). */
export { packageRoot as repoRoot };

/** The compiled script at dist/lab/netns/<name>.js; throws with the fix when it has not been built. */
export function distScript(name: 'echo-server' | 'echo-client', root: string = packageRoot()): string {
  const path = join(root, 'dist', 'lab', 'netns', `${name}.js`);
  if (!existsSync(path))
    throw new Error(`${path} is missing: build first with \`node_modules/.bin/tsc -p tsconfig.build.json\` (or \`make build\`)`);
  return path;
}
