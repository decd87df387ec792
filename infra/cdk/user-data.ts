// What a NAT node runs at first boot: install Node.js, nftables and conntrack, fetch the
// agent bundle and its systemd unit (S3 assets), write the agent's config, check it,
// start the agent. The agent then sets the node up (source/dest check off, forwarding,
// masquerade) and answers the launch lifecycle hook once its self-test passes; if this
// script fails, nothing answers and the hook's ABANDON replaces the node.
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import type { AgentConfigInput } from '../../src/config/agent-config.js';

/** The paths on the node; the config path is the one packaging/natkeeper-agent.service reads. */
export const NODE_PATHS = {
  bundle: '/opt/natkeeper/natkeeper.mjs',
  unitDownload: '/opt/natkeeper/natkeeper-agent.service',
  cli: '/usr/bin/natkeeper',
  config: '/etc/natkeeper/natkeeper.yaml',
  unit: '/etc/systemd/system/natkeeper-agent.service',
  /** AL2023 namespaces Node.js per major version: package nodejs22, binary /usr/bin/node-22. */
  node: '/usr/bin/node-22',
} as const;

/** AL2023 packages: Node.js 22 (the agent needs 20+), nft for the ruleset, conntrack for flows. */
export const NODE_PACKAGES = ['nodejs22', 'nftables', 'conntrack-tools'] as const;

export interface AgentAssets {
  readonly bundle: s3assets.Asset;
  readonly unit: s3assets.Asset;
}

/**
 * The user data. `config` is the agent config (JSON is YAML); it may hold tokens (the
 * table name, the floating ENI id): Stack.toJsonString renders them at deploy time.
 */
export function agentUserData(scope: Construct, assets: AgentAssets, config: AgentConfigInput): ec2.UserData {
  const stack = Stack.of(scope);
  const ud = ec2.UserData.forLinux();
  ud.addCommands(
    'set -euo pipefail',
    // The package mirrors can blip while a fleet boots: a few bounded retries.
    `for attempt in 1 2 3 4 5; do dnf install -y ${NODE_PACKAGES.join(' ')} && break; if [ "$attempt" = 5 ]; then exit 1; fi; sleep 10; done`,
  );
  const download = (asset: s3assets.Asset, localFile: string) =>
    ud.addS3DownloadCommand({ bucket: asset.bucket, bucketKey: asset.s3ObjectKey, localFile, region: stack.region });
  download(assets.bundle, NODE_PATHS.bundle);
  download(assets.unit, NODE_PATHS.unitDownload);
  ud.addCommands(
    // The CLI the unit starts: the bundle under the Node.js 22 binary, whatever
    // `alternatives` points /usr/bin/node at.
    `printf '#!/bin/sh\\nexec ${NODE_PATHS.node} ${NODE_PATHS.bundle} "$@"\\n' > ${NODE_PATHS.cli}`,
    `chmod 0755 ${NODE_PATHS.cli}`,
    `install -d -m 0750 /etc/natkeeper`,
    `cat > ${NODE_PATHS.config} <<'NATKEEPER_CONFIG_EOF'`,
    stack.toJsonString(config),
    'NATKEEPER_CONFIG_EOF',
    `chmod 0640 ${NODE_PATHS.config}`,
    // A bad config stops here, with the field named in the boot log, not in a restart loop.
    `${NODE_PATHS.cli} config check ${NODE_PATHS.config}`,
    `install -m 0644 ${NODE_PATHS.unitDownload} ${NODE_PATHS.unit}`,
    'systemctl daemon-reload',
    'systemctl enable --now natkeeper-agent.service',
  );
  return ud;
}
