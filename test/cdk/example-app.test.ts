// examples/cdk-app synthesizes: the BUILT app (make build compiles it to dist/) run as the
// CDK CLI would run it, with CDK_OUTDIR pointing at a temporary cloud assembly.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cfn } from './template-values.js';

const APP = join(import.meta.dirname, '..', '..', 'dist', 'examples', 'cdk-app', 'app.js');
// Two stacks, CloudFormation validation included: tens of seconds on a busy 2-core box.
const SYNTH_TIMEOUT_MS = 120_000;

describe('examples/cdk-app', () => {
  let outdir: string;
  const template = (stack: string) => JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Cfn }> };
  const ofType = (stack: string, type: string) => Object.values(template(stack).Resources).filter((r) => r.Type === type);

  beforeAll(async () => {
    if (!existsSync(APP)) throw new Error(`${APP} is missing: run make build first`);
    outdir = mkdtempSync(join(tmpdir(), 'natkeeper-cdk-app-'));
    await promisify(execFile)(process.execPath, [APP], {
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'eu-west-1' },
      timeout: SYNTH_TIMEOUT_MS,
    });
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('writes a cloud assembly with both stacks', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string }> };
    const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([id]) => id);
    expect(stacks.sort()).toEqual(['NatKeeperOnVpc', 'NatKeeperVpc']);
  });

  it.each(['NatKeeperVpc', 'NatKeeperOnVpc'])('%s has a NAT group and floating ENI per zone, no NAT gateway', (stack) => {
    expect(ofType(stack, 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(3);
    expect(ofType(stack, 'AWS::EC2::NetworkInterface').map((r) => r.Properties.Tags.find((t: Cfn) => t.Key === 'natkeeper:floating').Value).sort()).toEqual([
      'eu-west-1a',
      'eu-west-1b',
      'eu-west-1c',
    ]);
    expect(ofType(stack, 'AWS::EC2::NatGateway')).toHaveLength(0);
    expect(ofType(stack, 'AWS::Lambda::Function')).toHaveLength(1);
    // Every private subnet's default route goes to a floating ENI.
    expect(ofType(stack, 'AWS::EC2::Route').filter((r) => r.Properties.NetworkInterfaceId)).toHaveLength(3);
  });
});
