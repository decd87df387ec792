import { defineConfig } from 'vitest/config';

// Four projects, one per test tier (see DESIGN.md "Layout"), run one tier after
// the other (sequence.groupOrder 0, 1, 2; vitest 4 requires distinct groups for
// projects whose maxWorkers differ):
//   unit        fast and pure; fully parallel.
//   integration lab API, dynalite, etcd; at most 2 files at a time (they start servers).
//   cdk         the CDK construct synthesized offline; at most 2 files at a time.
//   e2e         network namespaces, needs root; one file at a time.
// Run one tier with `npx vitest run --project unit`.
export default defineConfig({
  test: {
    // A tier with no test files yet must not fail the run.
    passWithNoTests: true,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 10_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          maxWorkers: 2,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The CDK construct synthesized offline (Template assertions, cdk-nag): CPU-bound,
          // a few seconds per stack.
          name: 'cdk',
          include: ['test/cdk/**/*.test.ts'],
          environment: 'node',
          maxWorkers: 2,
          testTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
