// Where the files the construct deploys live: the two bundles `make build` writes
// (scripts/bundle.mjs) and the agent's systemd unit. Found from the package root, so the
// same code works from the repo (infra/cdk/*.ts under vitest, dist/infra/cdk/*.js) and
// from an app that installed the package (node_modules/natkeeper/dist/infra/cdk/*.js).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

export interface NatkeeperBundles {
  /** dist/bundle/lambda: index.mjs, handler index.handler. */
  readonly lambdaDir: string;
  /** dist/bundle/agent/natkeeper.mjs: the one-file CLI the NAT nodes run. */
  readonly agentFile: string;
  /** packaging/natkeeper-agent.service. */
  readonly agentUnitFile: string;
}

/** The bundle paths; throws naming the missing file and the fix when a build is missing. */
export function natkeeperBundles(root: string = packageRoot()): NatkeeperBundles {
  const bundles: NatkeeperBundles = {
    lambdaDir: join(root, 'dist', 'bundle', 'lambda'),
    agentFile: join(root, 'dist', 'bundle', 'agent', 'natkeeper.mjs'),
    agentUnitFile: join(root, 'packaging', 'natkeeper-agent.service'),
  };
  for (const file of [join(bundles.lambdaDir, 'index.mjs'), bundles.agentFile, bundles.agentUnitFile]) {
    if (!existsSync(file)) throw new Error(`natkeeper/cdk: ${file} is missing: run make build (tsc, then node scripts/bundle.mjs) in ${root}`);
  }
  return bundles;
}
