import { describe, expect, it } from 'vitest';
import { runIamPolicyCli } from '../../src/cli/iam-policy.js';
import { cliRunner, tempFiles } from '../support/cli-run.js';
import type { PolicyDocumentJson } from '../../src/iam/policy.js';

const file = tempFiles('natkeeper-iam-policy-cli-');
const run = cliRunner(runIamPolicyCli);

// The config the CDK construct gives the Lambda (NATKEEPER_CONFIG), as a file.
const lambdaConfig = file(
  'lambda.json',
  JSON.stringify({
    region: 'eu-west-1',
    lease: { store: 'dynamodb', table: 'natkeeper-lease', name: 'prod' },
    controller: { vpcId: 'vpc-0123456789abcdef0', zones: ['eu-west-1a', 'eu-west-1b'], fallbackNatGatewayIds: { 'eu-west-1a': 'nat-0aaaaaaaaaaaaaaaa' }, failbackAfterMs: 60000 },
  }),
);
const sids = (doc: PolicyDocumentJson) => doc.Statement.map((s) => s.Sid);

describe('natkeeper iam-policy', () => {
  it('prints the agent policy for a config: region, VPC, table, fallback NAT gateways from the file; cluster = lease.name', async () => {
    const r = await run(['--config', lambdaConfig, '--account', '123456789012']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const doc = JSON.parse(r.out) as PolicyDocumentJson;
    expect(r.out).toBe(JSON.stringify(doc, null, 2));
    expect(sids(doc)).toContain('DisableSourceDestCheckOnClusterEnis');
    expect(sids(doc)).toContain('RouteToFallbackNatGateways');
    const rt = doc.Statement.find((s) => s.Sid === 'MoveEgressInClusterRouteTables')!;
    expect(rt.Resource).toBe('arn:aws:ec2:eu-west-1:123456789012:route-table/*');
    expect(rt.Condition).toEqual({
      StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'prod' },
      ArnEquals: { 'ec2:Vpc': 'arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0' },
    });
    expect(doc.Statement.find((s) => s.Sid === 'RouteToFallbackNatGateways')!.Resource).toEqual(['arn:aws:ec2:eu-west-1:123456789012:natgateway/nat-0aaaaaaaaaaaaaaaa']);
    expect(doc.Statement.find((s) => s.Sid === 'LeaseAndDecisionLogInLeaseTable')!.Resource).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/natkeeper-lease');
  });

  it('--principal lambda --cluster --partition', async () => {
    const r = await run(['--config', lambdaConfig, '--principal', 'lambda', '--cluster', 'other', '--account', '123456789012', '--partition', 'aws-cn']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as PolicyDocumentJson;
    expect(sids(doc)).not.toContain('DisableSourceDestCheckOnClusterEnis');
    expect(doc.Statement.find((s) => s.Sid === 'AnswerClusterLifecycleHooks')).toMatchObject({
      Action: ['autoscaling:CompleteLifecycleAction'],
      Resource: 'arn:aws-cn:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*',
      Condition: { StringEquals: { 'autoscaling:ResourceTag/natkeeper:cluster': 'other' } },
    });
  });

  it('says on stderr what is unrestricted when the config has no region or VPC and no --account is given', async () => {
    const r = await run(['--config', file('bare.yaml', 'lease: { table: t-1 }\n')]);
    expect(r.code).toBe(0);
    expect(r.err.split('\n')).toEqual([
      'natkeeper iam-policy: note: region is not in the config: the policy allows every region (*)',
      'natkeeper iam-policy: note: controller.vpcId is not in the config: the EC2 mutations are not restricted to one VPC (no ec2:Vpc condition)',
      'natkeeper iam-policy: note: --account not given: the policy allows every account (*)',
    ]);
    const doc = JSON.parse(r.out) as PolicyDocumentJson;
    const rt = doc.Statement.find((s) => s.Sid === 'MoveEgressInClusterRouteTables')!;
    expect(rt.Resource).toBe('arn:aws:ec2:*:*:route-table/*');
    expect(rt.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'natkeeper' } });
  });

  it.each([
    [['--config', lambdaConfig, '--principal', 'operator'], /^natkeeper iam-policy: --principal: expected agent or lambda, got "operator"$/],
    [['--config', lambdaConfig, '--cluster', 'a b'], /^natkeeper iam-policy: --cluster: expected 1-128 of/],
    [['--config', lambdaConfig, '--account', '1234'], /^natkeeper iam-policy: --account: expected a 12-digit AWS account id, got "1234"$/],
    [['--config', lambdaConfig, '--partition', 'azure'], /^natkeeper iam-policy: --partition: expected an AWS partition/],
    [[], /--config/],
    [['--config'], /--config/],
    [['--config', lambdaConfig, '--bogus'], /--bogus/],
    [['--config', lambdaConfig, 'extra'], /too many arguments|extra/],
    [['--config', '/nonexistent/natkeeper/missing.yaml'], /cannot read .*missing\.yaml: ENOENT/],
    [['--config', file('bad.yaml', 'controller: { vpcId: vpc-nope }\n')], /controller\.vpcId: expected a VPC id/],
    [['--config', file('etcd.yaml', 'lease: { store: etcd, endpoint: "http://127.0.0.1:2379" }\n')], /^natkeeper iam-policy: lease\.store: expected dynamodb .* got etcd$/],
  ])('exits 2 naming the flag or field, nothing on stdout: %j', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });

  it('--help prints usage with every flag and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--config <file>', '--principal <who>', '--cluster <name>', '--account <id>', '--partition <p>']) expect(r.out).toContain(flag);
  });
});
