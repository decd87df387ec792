// Bundles what natkeeper ships to AWS, after `tsc` (run by `make build`):
//   dist/bundle/lambda/index.mjs   the event-driven Lambda (handler: index.handler), ESM, Node 22
//   dist/bundle/agent/natkeeper.mjs the CLI/agent as one file for the NAT nodes (Node 20+)
// The CDK construct (infra/cdk) deploys these two directories as assets.
// Each bundle carries its own AWS SDK v3 (the lockfile's version), not the runtime's.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stdout } from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');

// ESM output that still runs the CommonJS dependencies which call require().
const requireShim = "import { createRequire as __nkCreateRequire } from 'node:module'; const require = __nkCreateRequire(import.meta.url);";

const bundles = [
  { entry: 'src/lambda/handler.ts', outfile: join(out, 'lambda', 'index.mjs'), target: 'node22' },
  { entry: 'src/cli/main.ts', outfile: join(out, 'agent', 'natkeeper.mjs'), target: 'node20' },
];

rmSync(out, { recursive: true, force: true });
for (const b of bundles) {
  mkdirSync(dirname(b.outfile), { recursive: true });
  await build({
    entryPoints: [join(root, b.entry)],
    outfile: b.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: b.target,
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    banner: { js: requireShim },
    logLevel: 'warning',
  });
}
stdout.write(`bundle: ${bundles.map((b) => b.outfile.slice(root.length + 1)).join(', ')}\n`);
