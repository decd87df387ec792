// Where the compiled helper scripts live. The data plane runs the echo server,
// and tests run the echo client, from dist/ (`make build`), also when the
// calling code itself runs from TypeScript sources under vitest.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory up from this module with natkeeper's package.json. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'natkeeper') return dir;
      } catch {
        // Not ours; keep looking.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find natkeeper's package.json above ${from}`);
    dir = up;
  }
}

/** The compiled script at dist/lab/netns/<name>.js; throws with the fix when it has not been built. */
export function distScript(name: 'echo-server' | 'echo-client', root: string = repoRoot()): string {
  const path = join(root, 'dist', 'lab', 'netns', `${name}.js`);
  if (!existsSync(path))
    throw new Error(`${path} is missing: build first with \`node_modules/.bin/tsc -p tsconfig.build.json\` (or \`make build\`)`);
  return path;
}
