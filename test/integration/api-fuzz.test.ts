// Fuzzing the API server with 5,000+ hostile requests: random actions (real and
// not), random parameters with garbage, huge, malformed and unknown-ID values,
// raw bytes, bad encodings and oversized bodies. Every answer must be AWS-shaped
// XML carrying its request ID, the server must stay up, and since no request
// names an existing resource, the store must not change at all.
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ec2Service } from '../../lab/emulator/ec2/service.js';
import { startApiLab, type ApiLab } from '../support/api-lab.js';
import {
  BAD_ENCODINGS,
  NASTY,
  NUMBERISH,
  ODD_CONTENT_TYPES,
  REQUEST_ID,
  binaryArb,
  fuzzServer,
  garbageArb,
  oversizedRequest,
  rawBytesRequest,
  snapshot,
  type FuzzAnswer,
  type FuzzRequest,
} from '../support/fuzz.js';
import { xmlProblem } from '../support/xml-check.js';

const RUNS = 5_000;
const SEED = 20_261_123;

let lab: ApiLab;

beforeAll(async () => {
  lab = await startApiLab({ topology: { realism: { throttling: { enabled: false } } } });
});
afterAll(() => lab.close());

// ---- what the fuzzer sends ---------------------------------------------------

const ACTIONS = Object.keys(ec2Service.actions);
const actionArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ACTIONS) },
  { weight: 1, arbitrary: fc.constantFrom('RunInstances', 'describeVpcs', 'DescribeVpcs ', '', '__proto__', 'constructor', 'hasOwnProperty', 'Describe*') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

// Well-formed IDs that exist nowhere, malformed ones, and IDs of the wrong kind.
const idArb = fc.oneof(
  fc.constantFrom('rtb', 'i', 'eni', 'eni-attach', 'eipalloc', 'eipassoc', 'rtbassoc', 'subnet', 'vpc', 'igw', 'sg').chain((p) =>
    fc.oneof(
      // 17 hex digits starting with 1: well-formed, and never one of the lab's IDs (they start with 0).
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${p}-1${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`),
      fc.string({ maxLength: 20 }).map((s) => `${p}-${s}`),
    ),
  ),
  fc.constantFrom('local', '', '-', 'i-', 'rtb-0', 'i-1234567890abcdef0'),
);

const valueArb = fc.oneof(
  { weight: 4, arbitrary: idArb },
  { weight: 3, arbitrary: garbageArb },
  { weight: 2, arbitrary: binaryArb },
  { weight: 1, arbitrary: fc.constantFrom(...NUMBERISH) },
  { weight: 1, arbitrary: fc.constantFrom('0.0.0.0/0', '10.0.0.0/16', '192.0.2.0/24', '300.1.1.1/8', '1.2.3.4/33', '::/0', '192.0.2.7') },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY) },
);

const PARAM_NAMES = [
  'RouteTableId', 'RouteTableId.1', 'DestinationCidrBlock', 'GatewayId', 'InstanceId', 'InstanceId.1', 'InstanceId.2', 'NetworkInterfaceId',
  'NetworkInterfaceId.1', 'NatGatewayId', 'SubnetId', 'SubnetId.1', 'VpcId.1', 'AssociationId', 'AttachmentId', 'DeviceIndex', 'AllocationId',
  'AllocationId.1', 'PublicIp', 'PublicIp.1', 'PrivateIpAddress', 'AllowReassociation', 'ResourceId.1', 'ResourceId.2', 'Tag.1.Key', 'Tag.1.Value',
  'Tag.2.Key', 'Filter.1.Name', 'Filter.1.Value.1', 'Filter.1.Value.2', 'Filter.2.Name', 'Filter.2.Value.1', 'MaxResults', 'NextToken', 'DryRun',
  'Force', 'IncludeAllInstances', 'SourceDestCheck.Value', 'Attribute', 'Value', 'Description.Value', 'InstanceType.Value', 'DestinationIpv6CidrBlock',
];
const FILTER_NAMES = ['vpc-id', 'tag:Name', 'tag-key', 'tag-value', 'route.state', 'instance-state-name', 'attachment.status', 'bogus', 'constructor', ''];

const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PARAM_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Filter', 'Tag', 'InstanceId', 'ResourceId'), fc.integer({ min: -2, max: 2_000_000_000 })).map(([p, n]) => `${p}.${n}`) },
);

const paramsArb = fc.tuple(
  actionArb,
  fc.constantFrom<string | undefined>('2016-11-15', '2016-11-15', '2016-11-15', '2011-01-01', undefined, '', 'latest'),
  fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }),
  fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(...FILTER_NAMES), valueArb), { maxLength: 3 }),
);

const formRequest = paramsArb.map(([action, version, pairs, filters]): FuzzRequest => {
  const p = new URLSearchParams();
  p.set('Action', action);
  if (version !== undefined) p.set('Version', version);
  for (const [k, v] of pairs) p.append(k, v);
  for (const [n, name, v] of filters) {
    p.set(`Filter.${n}.Name`, name);
    p.set(`Filter.${n}.Value.1`, v);
  }
  return { body: p.toString(), contentType: 'application/x-www-form-urlencoded; charset=utf-8', note: `form ${action}` };
});

const requestArb = fc.oneof(
  { weight: 700, arbitrary: formRequest },
  // DryRun of a real action, with whatever else: 412 DryRunOperation, nothing done.
  {
    weight: 20,
    arbitrary: fc
      .tuple(fc.constantFrom(...ACTIONS), fc.array(fc.tuple(keyArb, valueArb), { maxLength: 4 }))
      .map(([a, pairs]): FuzzRequest => {
        const p = new URLSearchParams(pairs);
        p.set('Action', a);
        p.set('Version', '2016-11-15');
        p.set('DryRun', 'true');
        return { body: p.toString(), contentType: 'application/x-www-form-urlencoded', note: `dry run ${a}` };
      }),
  },
  // Raw bytes, not even text.
  { weight: 100, arbitrary: rawBytesRequest() },
  // Bad %-encodings and stray separators around a real action.
  {
    weight: 100,
    arbitrary: fc
      .tuple(fc.constantFrom(...ACTIONS), fc.constantFrom(...BAD_ENCODINGS), fc.string({ maxLength: 20 }))
      .map(([a, junk, tail]): FuzzRequest => ({ body: `Action=${a}&Version=2016-11-15&RouteTableId=${junk}${tail}&${junk}=${junk}`, note: 'bad encoding' })),
  },
  // Other content types with a plausible body.
  {
    weight: 50,
    arbitrary: fc
      .constantFrom(...ODD_CONTENT_TYPES)
      .map((ct): FuzzRequest => ({ body: '{"Action":"DescribeVpcs","Version":"2016-11-15"}', contentType: ct, note: `content-type ${ct}` })),
  },
  // Bodies past the 1 MiB limit.
  { weight: 1, arbitrary: fc.constant(oversizedRequest('Action=DescribeVpcs&Version=2016-11-15')) },
);

// ---- what every answer must be ------------------------------------------------

function checkAnswer(req: FuzzRequest, res: FuzzAnswer): void {
  const where = `${req.note} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.requestId, where).toMatch(REQUEST_ID);
  expect(xmlProblem(res.text), where).toBeUndefined();
  if (res.status === 200) {
    expect(res.text, where).toMatch(/^<\?xml [^>]*\?>\n<(\w+)Response xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>/);
    expect(res.text, where).toContain(`<requestId>${res.requestId}</requestId>`);
    const action = /<(\w+)Response /.exec(res.text)![1]!;
    // Only Describe calls can succeed: no request names an existing resource.
    expect(ec2Service.actions[action]?.mutating, where).toBe(false);
  } else {
    // 500 would be an unexpected exception: a bug the fuzzer found.
    expect([400, 412, 413], where).toContain(res.status);
    expect(res.text, where).toMatch(/<Code>[^<]+<\/Code><Message>[^<]*<\/Message>/);
    expect(res.text, where).toMatch(new RegExp(`<(RequestID|RequestId)>${res.requestId}</`));
  }
}

describe('fuzzing the API server', () => {
  it(`answers ${RUNS} hostile requests with AWS-shaped XML and changes nothing`, async () => {
    const before = snapshot(lab.store);
    const statuses = await fuzzServer({ endpoint: lab.endpoint, store: lab.store, requests: requestArb, runs: RUNS, seed: SEED, check: checkAnswer });
    expect(snapshot(lab.store)).toBe(before);
    // The mix reached every kind of answer, so the checks above were exercised.
    expect(statuses.get(200)).toBeGreaterThan(50);
    expect(statuses.get(400)).toBeGreaterThan(RUNS / 2);
    expect(statuses.get(412)).toBeGreaterThan(10);
    expect(lab.api.requestLog.size).toBeGreaterThanOrEqual(RUNS);
  }, 120_000);

  it('still serves the SDK afterwards', async () => {
    const out = await lab.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [lab.manifest.vpcId] }] }));
    expect(out.RouteTables!.length).toBeGreaterThan(3);
  });
});
