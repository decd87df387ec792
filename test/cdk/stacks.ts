// Stacks the CDK tests synthesize: an env with a fixed account and region, so the VPC's
// availability zones are concrete names (eu-west-1a, …) as in a real deployment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';

/** Synthesis with cdk-nag takes seconds on a busy 2-core box: beforeAll hooks get this. */
export const SYNTH_TIMEOUT_MS = 60_000;

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;
export const TEST_ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] as const;

// Each App stages its assets (the 5 MB agent bundle) in its own outdir: remove them after the file.
const outdirs: string[] = [];

/** For afterAll: removes the cloud assemblies of every testStack() of this file. */
export function removeTestOutdirs(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function testStack(id = 'Test'): Stack {
  const outdir = mkdtempSync(join(tmpdir(), 'natkeeper-cdk-test-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    // The AZs the VPC would look up: fixed, so synthesis is offline and deterministic.
    context: { [`availability-zones:account=${TEST_ENV.account}:region=${TEST_ENV.region}`]: [...TEST_ZONES] },
  });
  return new Stack(app, id, { env: TEST_ENV });
}

/** A VPC with public and private-with-egress subnets in 3 zones and no NAT of its own. */
export function vpcWithoutNat(stack: Stack, id = 'Vpc'): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, id, {
    maxAzs: 3,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    ],
  });
  vpc.addFlowLog('FlowLog');
  return vpc;
}

/**
 * A VPC imported by attributes, zones eu-west-1a and eu-west-1b: a public subnet and a
 * private subnet (with its route table) in each, unless the case leaves a kind out.
 */
export function importedVpc(stack: Stack, id: string, subnets: { public?: boolean; private?: boolean } = { public: true, private: true }): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, id, {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidrBlock: '10.20.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    ...(subnets.public ? { publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] } : {}),
    ...(subnets.private
      ? { privateSubnetIds: ['subnet-0bbbbbbbbbbbbbbb1', 'subnet-0bbbbbbbbbbbbbbb2'], privateSubnetRouteTableIds: ['rtb-0ccccccccccccccc1', 'rtb-0ccccccccccccccc2'] }
      : {}),
  });
}

/** cdk-nag's AwsSolutions findings on the stack, one line each (cdk-nag v3 is a validation plugin: validateScope runs it on the tree). */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`));
}
