import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { natkeeperPolicy, PolicyInputError, type NatkeeperPrincipal, type PolicyDocumentJson, type PolicyInput } from '../../src/iam/policy.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

const base: PolicyInput = { principal: 'agent', clusterName: 'prod', leaseTable: 'natkeeper-lease', region: 'eu-west-1', account: '123456789012', vpcId: 'vpc-0123456789abcdef0' };
const sid = (doc: PolicyDocumentJson, s: string) => {
  const st = doc.Statement.find((x) => x.Sid === s);
  if (!st) throw new Error(`no statement ${s}`);
  return st;
};
const actionsOf = (doc: PolicyDocumentJson) => new Set(doc.Statement.flatMap((s) => s.Action));

describe('natkeeperPolicy', () => {
  it('gives the agent its statements: Describe* on *, mutations on tagged resources in the VPC, lifecycle, lease table', () => {
    const doc = natkeeperPolicy(base);
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement.map((s) => s.Sid)).toEqual([
      'ReadNetworkStateDescribeHasNoResourceLevelPermissions',
      'ReadLifecycleStateDescribeHasNoResourceLevelPermissions',
      'MoveEgressInClusterRouteTables',
      'MoveClusterFloatingEnisAndRouteToThem',
      'AttachToClusterNatInstancesAndRouteToThem',
      'DisableSourceDestCheckOnClusterEnis',
      'AnswerClusterLifecycleHooks',
      'LeaseAndDecisionLogInLeaseTable',
    ]);
    for (const s of doc.Statement) {
      expect(s.Effect).toBe('Allow');
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/); // IAM accepts only alphanumerics in a Sid
    }
    const describeOnly = doc.Statement.filter((s) => s.Resource === '*');
    expect(describeOnly.flatMap((s) => s.Action).every((a) => /:Describe/.test(a))).toBe(true);
    expect(describeOnly.every((s) => s.Condition === undefined)).toBe(true);

    const inVpc = {
      StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'prod' },
      ArnEquals: { 'ec2:Vpc': 'arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0' },
    };
    expect(sid(doc, 'MoveEgressInClusterRouteTables')).toMatchObject({
      Action: ['ec2:ReplaceRoute', 'ec2:ReplaceRouteTableAssociation'],
      Resource: 'arn:aws:ec2:eu-west-1:123456789012:route-table/*',
      Condition: inVpc,
    });
    expect(sid(doc, 'MoveClusterFloatingEnisAndRouteToThem')).toMatchObject({ Resource: 'arn:aws:ec2:eu-west-1:123456789012:network-interface/*', Condition: inVpc });
    expect(sid(doc, 'DisableSourceDestCheckOnClusterEnis')).toMatchObject({ Action: ['ec2:ModifyNetworkInterfaceAttribute'], Condition: inVpc });
    // The instance resource type has no ec2:Vpc key: a condition on it would never match.
    expect(sid(doc, 'AttachToClusterNatInstancesAndRouteToThem')).toEqual({
      Sid: 'AttachToClusterNatInstancesAndRouteToThem',
      Effect: 'Allow',
      Action: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ReplaceRoute'],
      Resource: 'arn:aws:ec2:eu-west-1:123456789012:instance/*',
      Condition: { StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'prod' } },
    });
    expect(sid(doc, 'AnswerClusterLifecycleHooks')).toEqual({
      Sid: 'AnswerClusterLifecycleHooks',
      Effect: 'Allow',
      Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      Resource: 'arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*',
      Condition: { StringEquals: { 'autoscaling:ResourceTag/natkeeper:cluster': 'prod' } },
    });
    expect(sid(doc, 'LeaseAndDecisionLogInLeaseTable')).toEqual({
      Sid: 'LeaseAndDecisionLogInLeaseTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/natkeeper-lease',
    });
    const all = actionsOf(doc);
    for (const never of ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'ec2:ModifyInstanceAttribute', 'ec2:CreateRoute', 'ec2:DeleteRoute'])
      expect(all.has(never), never).toBe(false);
  });

  it('gives the Lambda no node setup: no SourceDestCheck, no heartbeats, no hook listing', () => {
    const doc = natkeeperPolicy({ ...base, principal: 'lambda' });
    const all = actionsOf(doc);
    expect(all.has('ec2:ModifyNetworkInterfaceAttribute')).toBe(false);
    expect(all.has('autoscaling:RecordLifecycleActionHeartbeat')).toBe(false);
    expect(all.has('autoscaling:DescribeLifecycleHooks')).toBe(false);
    expect(sid(doc, 'AnswerClusterLifecycleHooks').Action).toEqual(['autoscaling:CompleteLifecycleAction']);
    expect(sid(doc, 'ReadLifecycleStateDescribeHasNoResourceLevelPermissions').Action).toEqual(['autoscaling:DescribeAutoScalingInstances']);
    expect(sid(doc, 'MoveEgressInClusterRouteTables').Action).toEqual(['ec2:ReplaceRoute', 'ec2:ReplaceRouteTableAssociation']);
  });

  it('defaults to partition aws, any region and account, no ec2:Vpc condition without a VPC', () => {
    const doc = natkeeperPolicy({ principal: 'lambda', clusterName: 'c', leaseTable: 't' });
    expect(sid(doc, 'MoveEgressInClusterRouteTables')).toMatchObject({
      Resource: 'arn:aws:ec2:*:*:route-table/*',
      Condition: { StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'c' } },
    });
    expect(Object.keys(sid(doc, 'MoveEgressInClusterRouteTables').Condition!)).toEqual(['StringEquals']);
    expect(sid(doc, 'LeaseAndDecisionLogInLeaseTable').Resource).toBe('arn:aws:dynamodb:*:*:table/t');
  });

  it('uses ArnLike for a VPC ARN with a wildcard region or account, and the partition given', () => {
    const doc = natkeeperPolicy({ principal: 'agent', clusterName: 'c', leaseTable: 't', vpcId: 'vpc-1', partition: 'aws-cn' });
    expect(sid(doc, 'MoveClusterFloatingEnisAndRouteToThem').Condition).toEqual({
      StringEquals: { 'ec2:ResourceTag/natkeeper:cluster': 'c' },
      ArnLike: { 'ec2:Vpc': 'arn:aws-cn:ec2:*:*:vpc/vpc-1' },
    });
  });

  it('names each fallback NAT gateway as a ReplaceRoute target, without a tag condition (they are not natkeeper\'s)', () => {
    const doc = natkeeperPolicy({ ...base, fallbackNatGatewayIds: ['nat-0aaaaaaaaaaaaaaaa', 'nat-0bbbbbbbbbbbbbbbb'] });
    expect(sid(doc, 'RouteToFallbackNatGateways')).toEqual({
      Sid: 'RouteToFallbackNatGateways',
      Effect: 'Allow',
      Action: ['ec2:ReplaceRoute'],
      Resource: ['arn:aws:ec2:eu-west-1:123456789012:natgateway/nat-0aaaaaaaaaaaaaaaa', 'arn:aws:ec2:eu-west-1:123456789012:natgateway/nat-0bbbbbbbbbbbbbbbb'],
    });
    expect(natkeeperPolicy(base).Statement.some((s) => s.Sid === 'RouteToFallbackNatGateways')).toBe(false);
  });

  it('passes CDK tokens through untouched', () => {
    const t = (n: number) => `\${Token[TOKEN.${n}]}`;
    const doc = natkeeperPolicy({ principal: 'lambda', clusterName: t(1), leaseTable: t(2), region: t(3), account: t(4), partition: t(5), vpcId: t(6), fallbackNatGatewayIds: [t(7)] });
    expect(sid(doc, 'LeaseAndDecisionLogInLeaseTable').Resource).toBe(`arn:${t(5)}:dynamodb:${t(3)}:${t(4)}:table/${t(2)}`);
    expect(sid(doc, 'MoveEgressInClusterRouteTables').Condition).toEqual({
      StringEquals: { [`ec2:ResourceTag/natkeeper:cluster`]: t(1) },
      ArnEquals: { 'ec2:Vpc': `arn:${t(5)}:ec2:${t(3)}:${t(4)}:vpc/${t(6)}` },
    });
    expect(sid(doc, 'RouteToFallbackNatGateways').Resource).toEqual([`arn:${t(5)}:ec2:${t(3)}:${t(4)}:natgateway/${t(7)}`]);
  });

  it.each([
    [{ principal: 'operator' }, 'principal'],
    [{ clusterName: '' }, 'clusterName'],
    [{ leaseTable: ' ' }, 'leaseTable'],
    [{ region: '' }, 'region'],
    [{ vpcId: '' }, 'vpcId'],
    [{ fallbackNatGatewayIds: ['nat-1', ''] }, 'fallbackNatGatewayIds[1]'],
  ])('rejects %j naming the field', (patch, field) => {
    expect(() => natkeeperPolicy({ ...base, ...(patch as Partial<PolicyInput>) })).toThrow(PolicyInputError);
    expect(() => natkeeperPolicy({ ...base, ...(patch as Partial<PolicyInput>) })).toThrow(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: expected`));
  });
});

// ---------------------------------------------------------------------------------------
// Every AWS call a principal's code makes must be allowed by that principal's policy, and
// the policy must allow nothing its code never calls. A new `new XCommand(` without a
// policy change, or a new file with AWS calls reachable from a principal's entry point,
// fails here.

/** IAM service prefix per SDK v3 client package. */
const IAM_PREFIX: Record<string, string> = {
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-auto-scaling': 'autoscaling',
  '@aws-sdk/client-dynamodb': 'dynamodb',
};

/** The files whose AWS calls each principal makes (keep in step with the entry points' imports; the test below checks). */
const PRINCIPAL_FILES: Record<NatkeeperPrincipal, { entry: string; files: string[] }> = {
  agent: {
    // The agent bundle (dist/bundle/agent/natkeeper.mjs) is src/cli/main.ts: `natkeeper agent`
    // and the operator commands (status, plan, history, failover, failback) run on the node
    // with the instance role.
    entry: 'src/cli/main.ts',
    files: [
      'src/aws/node-setup.ts',
      'src/aws/lifecycle.ts',
      'src/agent/peer-discovery.ts',
      'src/agent/peer-state-watch.ts',
      'src/agent/drain.ts',
      'src/controller/observe.ts',
      'src/controller/executor.ts',
      'src/lease/dynamodb.ts',
    ],
  },
  lambda: {
    entry: 'src/lambda/handler.ts',
    files: ['src/controller/observe.ts', 'src/controller/executor.ts', 'src/aws/node-setup.ts', 'src/lease/dynamodb.ts', ...listTs('src/lambda')],
  },
};

/** Commands a file holds that a principal never sends, and why. */
const NOT_SENT: Record<NatkeeperPrincipal, Record<string, { commands: string[]; why: string }>> = {
  agent: {
    'src/lease/dynamodb.ts': { commands: ['CreateTableCommand', 'DescribeTableCommand'], why: 'ensureTable() is for tests and the lab; the CDK construct creates the table' },
  },
  lambda: {
    'src/lease/dynamodb.ts': { commands: ['CreateTableCommand', 'DescribeTableCommand'], why: 'ensureTable() is for tests and the lab; the CDK construct creates the table' },
    'src/aws/node-setup.ts': { commands: ['ModifyNetworkInterfaceAttributeCommand'], why: 'the executor imports describeEni/waitForEni only; SourceDestCheck is node setup' },
  },
};

function listTs(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Relative imports (static, re-exports, dynamic) of a src file, as repo-relative .ts paths. */
function localImports(file: string): string[] {
  const text = read(file);
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs
    .map((s) => relative(root, resolve(root, dirname(file), s.replace(/\.js$/, '.ts'))))
    .filter((f) => existsSync(join(root, f)));
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f) || !existsSync(join(root, f))) continue;
    seen.add(f);
    todo.push(...localImports(f));
  }
  return seen;
}

/** `new XCommand(` in a file, with the IAM action from the package X is imported from. */
function awsCalls(file: string): { command: string; action: string }[] {
  const text = read(file);
  expect(text, `${file}: use named imports (new client.XCommand cannot be checked)`).not.toMatch(/new\s+\w+\.\w+Command\s*\(/);
  const from = new Map<string, string>();
  for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g))
    for (const name of m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]!.replace(/^type\s+/, '')))
      if (name) from.set(name, m[2]!);
  return [...text.matchAll(/new\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)].map((m) => {
    const command = m[1]!;
    const pkg = from.get(command);
    const prefix = pkg === undefined ? undefined : IAM_PREFIX[pkg];
    if (prefix === undefined) throw new Error(`${file}: ${command} is imported from ${pkg ?? 'nowhere'}, which has no IAM prefix in IAM_PREFIX`);
    return { command, action: `${prefix}:${command.replace(/Command$/, '')}` };
  });
}

function actionsNeeded(principal: NatkeeperPrincipal): Map<string, string[]> {
  const needed = new Map<string, string[]>();
  for (const file of PRINCIPAL_FILES[principal].files) {
    const skip = NOT_SENT[principal][file]?.commands ?? [];
    for (const c of awsCalls(file)) if (!skip.includes(c.command)) needed.set(c.action, [...(needed.get(c.action) ?? []), file]);
  }
  return needed;
}

describe.each(['agent', 'lambda'] as const)('the %s policy covers exactly the AWS calls its code makes', (principal) => {
  const { entry, files } = PRINCIPAL_FILES[principal];

  it('lists every file with AWS calls that its entry point reaches, and only those', () => {
    const reached = closure(entry);
    const withCalls = [...reached].filter((f) => awsCalls(f).length > 0).sort();
    expect(withCalls).toEqual([...new Set(files)].filter((f) => awsCalls(f).length > 0).sort());
    for (const f of files) expect(reached.has(f), `${f} is not imported from ${entry}`).toBe(true);
  });

  it('allows every action the code calls, and nothing else', () => {
    const needed = actionsNeeded(principal);
    const allowed = actionsOf(natkeeperPolicy({ ...base, principal, fallbackNatGatewayIds: ['nat-0aaaaaaaaaaaaaaaa'] }));
    const missing = [...needed.keys()].filter((a) => !allowed.has(a)).map((a) => `${a} (called in ${needed.get(a)!.join(', ')})`);
    expect(missing, 'AWS calls the policy does not allow').toEqual([]);
    expect([...allowed].filter((a) => !needed.has(a)), 'allowed actions no code calls').toEqual([]);
  });
});

describe('the lease table is never created by a principal', () => {
  it('calls ensureTable() nowhere in src but its definition', () => {
    const callers = listTs('src').filter((f) => f !== 'src/lease/dynamodb.ts' && /\.ensureTable\s*\(/.test(read(f)));
    expect(callers).toEqual([]);
  });
});
