// Rewrites the IAM policy table in README.md from src/iam/policy.ts (via the build in
// dist/): run after `make build`. test/unit/iam-policy-table.test.ts fails until the
// README matches the policy.
import console from 'node:console';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/src/iam/policy-table.js');
const { withIamPolicyTable } = await import(built).catch((err) => {
  console.error(`scripts/iam-table.mjs: cannot load ${built} (${err.code ?? err.message}): run make build first`);
  process.exit(2);
});
const readme = join(root, 'README.md');
const before = readFileSync(readme, 'utf8');
const after = withIamPolicyTable(before);
if (after === before) console.log('README.md: the IAM policy table is up to date');
else {
  writeFileSync(readme, after);
  console.log('README.md: IAM policy table rewritten from src/iam/policy.ts');
}
