// Fuzzing the Auto Scaling Query API (awsQuery, Version 2011-01-01) on the lab's
// API server, next to EC2 as in the lab, with its group controller running:
// real and bogus actions; group names, instance IDs, hook names, tokens, enums,
// booleans, MaxRecords, NextTokens, filters and PutLifecycleHook fields with
// garbage, huge, malformed, unknown and wrong-type values; raw bytes and bad
// encodings. No request names an existing group or instance, so nothing may
// change: every answer must be awsQuery XML (a result or an <ErrorResponse>)
// carrying its request ID, never a 5xx, and the store must stay as it was.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLifecycleHooksCommand } from '@aws-sdk/client-auto-scaling';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putLifecycleHook } from '../../lab/emulator/autoscaling/hooks.js';
import { autoScalingService } from '../../lab/emulator/autoscaling/service.js';
import { DUMMY_CREDENTIALS, startApiLab, type ApiLab } from '../support/api-lab.js';
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

const RUNS = 2_500;
const SEED = 20_261_124;
const VERSION = '2011-01-01';
const XMLNS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const ACTIONS = Object.keys(autoScalingService.actions);
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SUCCESS_OPEN = new RegExp(`^${literal(DECLARATION)}<(\\w+)Response xmlns="${literal(XMLNS)}">`);
/** The hooks put on the first group before the run, so that the snapshot holds some. */
const HOOK_NAMES = ['drain', 'warm-up'];

let lab: ApiLab;
let client: AutoScalingClient;
let groupNames: string[];
let instanceIds: string[];

beforeAll(async () => {
  // A replacement comes 10 ms after an instance goes: a call that wrongly took one out would show within the run.
  lab = await startApiLab({ autoScaling: true, topology: { autoScaling: { replacementDelayMs: 10 }, realism: { throttling: { enabled: false } } } });
  client = new AutoScalingClient({ endpoint: lab.endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
  groupNames = [...lab.store.autoScalingGroups.keys()].sort();
  instanceIds = lab.store.instances.values().map((i) => i.instanceId);
  putLifecycleHook(lab.store, { autoScalingGroupName: groupNames[0]!, lifecycleHookName: HOOK_NAMES[0]!, lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' });
  putLifecycleHook(lab.store, {
    autoScalingGroupName: groupNames[0]!,
    lifecycleHookName: HOOK_NAMES[1]!,
    lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    heartbeatTimeoutSeconds: 60,
    defaultResult: 'CONTINUE',
    notificationMetadata: '{"zone":"a"}',
  });
});
afterAll(async () => {
  client?.destroy();
  await lab?.close();
});

// ---- what the fuzzer sends ---------------------------------------------------------
// Built once the lab is up: the near misses come from the real names and IDs.

function hostileRequests(): fc.Arbitrary<FuzzRequest> {
  const existing = new Set([...groupNames, ...instanceIds]);
  const unknown = (v: string) => !existing.has(v);

  const actionArb = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ACTIONS) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        // Real Auto Scaling actions the lab does not serve, EC2 actions, near misses, prototype names.
        'CreateAutoScalingGroup', 'DeleteAutoScalingGroup', 'UpdateAutoScalingGroup', 'SetDesiredCapacity', 'DetachInstances', 'EnterStandby',
        'DescribeScalingActivities', 'DescribeVpcs', 'RunInstances', 'describeAutoScalingGroups', 'DescribeAutoScalingGroups ', 'DescribeAutoScalingGroups\u0000',
        'Describe*', '', '__proto__', 'constructor', 'hasOwnProperty', 'toString',
      ),
    },
    { weight: 1, arbitrary: garbageArb },
  );

  // Group names that exist nowhere: plausible, near misses of the real ones, at and past the 255 limit.
  const groupArb = fc
    .oneof(
      fc.stringMatching(/^natkeeper-[a-z0-9]{1,8}$/),
      fc.constantFrom(
        ...groupNames.flatMap((g) => [
          g.toUpperCase(), `${g} `, ` ${g}`, `${g}\u0000`, g.slice(0, -1), `${g}x`, `${g}*`, `${g}/`, encodeURIComponent(`${g} `),
          `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${g}`,
        ]),
        'natkeeper-*', 'g'.repeat(255), 'g'.repeat(256), '__proto__', 'constructor',
      ),
      garbageArb,
    )
    .filter(unknown);

  // Instance IDs that exist nowhere: well-formed (the lab's start with i-0), short, near misses, of the wrong kind.
  const instanceArb = fc
    .oneof(
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `i-1${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`),
      fc.nat().map((a) => `i-${a.toString(16).padStart(8, '0')}`),
      fc.constantFrom(
        ...instanceIds.flatMap((i) => [i.toUpperCase(), `${i} `, i.slice(0, -1), `${i}0`, i.replace('i-', 'i_'), i.replace('i-', 'eni-')]),
        'i-', 'i-1234567890abcdef0', 'i-*',
      ),
      garbageArb.map((s) => `i-${s}`),
    )
    .filter(unknown);

  const hookNameArb = fc.oneof(fc.constantFrom(...HOOK_NAMES), fc.stringMatching(/^[A-Za-z0-9\-_/]{1,40}$/), garbageArb);
  const tokenArb = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.uuid().map((u) => `${u}0`), fc.constant(''));

  // NextTokens: well-formed for each action (and others), wrong JSON shapes, plain base64, garbage.
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  const nextTokenArb = fc.oneof(
    fc.tuple(fc.constantFrom(...ACTIONS, 'DescribeVpcs', ''), garbageArb).map(([a, k]) => b64url(JSON.stringify({ a, k }))),
    fc.constantFrom('null', '[]', '"x"', '{"a":"DescribeAutoScalingGroups","k":5}', '{"a":"DescribeAutoScalingGroups"}', '{"k":"a"}', '{', '\u0000').map(b64url),
    garbageArb.map((s) => Buffer.from(s).toString('base64')),
    garbageArb,
  );

  const ENUMS = [
    'CONTINUE', 'ABANDON', 'continue', 'Continue', 'ABANDONED', 'DEFAULT', 'Healthy', 'Unhealthy', 'healthy', 'UNHEALTHY', 'InService',
    'autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING', 'autoscaling:EC2_INSTANCE_LAUNCHING ', 'EC2_INSTANCE_LAUNCHING',
    'autoscaling:TEST_NOTIFICATION', 'tag-key', 'tag-value', 'tag:natkeeper:zone', 'arn:aws:sns:us-east-1:123456789012:natkeeper',
    'arn:aws:iam::123456789012:role/natkeeper',
  ];
  const INTS = ['29', '30', '7200', '7201', '-0', '+5', '0x10', '1.5', ' 5', '5 ', '00030', '9007199254740993', '-9007199254740993', '101', '51'];

  const valueArb = fc.oneof(
    { weight: 3, arbitrary: groupArb },
    { weight: 3, arbitrary: instanceArb },
    { weight: 1, arbitrary: hookNameArb },
    { weight: 2, arbitrary: tokenArb },
    { weight: 2, arbitrary: fc.constantFrom(...ENUMS) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBERISH, ...INTS) },
    { weight: 2, arbitrary: nextTokenArb },
    { weight: 3, arbitrary: garbageArb },
    { weight: 2, arbitrary: binaryArb },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY, 'a'.repeat(1023), 'a'.repeat(1024), 'a'.repeat(1600), 'a'.repeat(1601)) },
  );

  const PARAM_NAMES = [
    'AutoScalingGroupName', 'AutoScalingGroupNames.member.1', 'AutoScalingGroupNames.member.2', 'InstanceIds.member.1', 'InstanceIds.member.2',
    'InstanceId', 'LifecycleHookName', 'LifecycleHookNames.member.1', 'LifecycleActionToken', 'LifecycleActionResult', 'HealthStatus',
    'ShouldRespectGracePeriod', 'ShouldDecrementDesiredCapacity', 'IncludeInstances', 'MaxRecords', 'NextToken', 'LifecycleTransition',
    'HeartbeatTimeout', 'DefaultResult', 'NotificationMetadata', 'NotificationTargetARN', 'RoleARN', 'Filters.member.1.Name',
    'Filters.member.1.Values.member.1', 'Filters.member.2.Values.member.1', 'Filters.member.1.Values.1', 'AutoScalingGroupNames.1', 'InstanceId.1',
    'DryRun', 'Filter.1.Name', '__proto__', 'constructor',
  ];
  const keyArb = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...PARAM_NAMES) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('AutoScalingGroupNames.member', 'InstanceIds.member', 'LifecycleHookNames.member', 'Filters.member', 'AutoScalingGroupNames'),
          fc.oneof(fc.integer({ min: -2, max: 2_000_000_000 }).map(String), fc.constantFrom('01', '1e3', 'x', '', '1.Values.member.1')),
        )
        .map(([p, n]) => `${p}.${n}`),
    },
  );

  // Filters.member.N.Name / Filters.member.N.Values.member.M, the name sometimes left out.
  const FILTER_NAMES = ['tag-key', 'tag-value', 'tag:natkeeper:zone', 'tag:Name', 'tag:', 'auto-scaling-group', 'bogus', 'constructor', ''];
  const filtersArb = fc.array(
    fc.tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.option(fc.constantFrom(...FILTER_NAMES), { nil: undefined, freq: 6 }),
      fc.array(fc.oneof(fc.constantFrom('a', 'b', 'natkeeper:zone'), valueArb), { maxLength: 3 }),
    ),
    { maxLength: 3 },
  );
  const addFilters = (p: URLSearchParams, filters: [number, string | undefined, string[]][]) => {
    for (const [n, name, values] of filters) {
      if (name !== undefined) p.set(`Filters.member.${n}.Name`, name);
      values.forEach((v, m) => p.set(`Filters.member.${n}.Values.member.${m + 1}`, v));
    }
  };

  // A list parameter with up to 5 members, or many.
  const listArb = fc
    .tuple(
      fc.constantFrom<[string, fc.Arbitrary<string>]>(
        ['AutoScalingGroupNames', groupArb],
        ['InstanceIds', instanceArb],
        ['LifecycleHookNames', hookNameArb],
      ),
      fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 50, max: 400 }) }),
    )
    .chain(([[name, member], n]) => fc.array(fc.oneof({ weight: 3, arbitrary: member }, { weight: 1, arbitrary: valueArb }), { minLength: n, maxLength: n }).map((vs) => ({ name, vs })));

  // Good-looking requests for each action, every field usually valid but the group or instance unknown,
  // so that the calls get past validation to the lookups.
  const ok = (good: fc.Arbitrary<string>) =>
    fc.oneof({ weight: 6, arbitrary: good }, { weight: 2, arbitrary: valueArb }, { weight: 1, arbitrary: fc.constant(undefined) });
  const bool = fc.constantFrom('true', 'false');
  const result = fc.constantFrom('CONTINUE', 'ABANDON');
  const transition = fc.constantFrom('autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING');
  const fields: Record<string, Record<string, fc.Arbitrary<string | undefined>>> = {
    DescribeAutoScalingGroups: { IncludeInstances: ok(bool), MaxRecords: ok(fc.integer({ min: 1, max: 100 }).map(String)), NextToken: ok(nextTokenArb) },
    DescribeAutoScalingInstances: { MaxRecords: ok(fc.integer({ min: 1, max: 50 }).map(String)), NextToken: ok(nextTokenArb) },
    SetInstanceHealth: { InstanceId: instanceArb, HealthStatus: ok(fc.constantFrom('Healthy', 'Unhealthy')), ShouldRespectGracePeriod: ok(bool) },
    DescribeLifecycleHooks: { AutoScalingGroupName: groupArb },
    PutLifecycleHook: {
      AutoScalingGroupName: groupArb,
      LifecycleHookName: ok(hookNameArb),
      LifecycleTransition: ok(transition),
      HeartbeatTimeout: ok(fc.integer({ min: 30, max: 7200 }).map(String)),
      DefaultResult: ok(result),
      NotificationMetadata: ok(fc.string({ maxLength: 100 })),
      NotificationTargetARN: ok(fc.constant('arn:aws:sns:us-east-1:123456789012:natkeeper')),
      RoleARN: ok(fc.constant('arn:aws:iam::123456789012:role/natkeeper')),
    },
    DeleteLifecycleHook: { AutoScalingGroupName: groupArb, LifecycleHookName: ok(hookNameArb) },
    CompleteLifecycleAction: {
      AutoScalingGroupName: groupArb,
      LifecycleHookName: ok(hookNameArb),
      LifecycleActionToken: fc.option(tokenArb, { nil: undefined }),
      InstanceId: fc.option(instanceArb, { nil: undefined }),
      LifecycleActionResult: ok(result),
    },
    RecordLifecycleActionHeartbeat: {
      AutoScalingGroupName: groupArb,
      LifecycleHookName: ok(hookNameArb),
      LifecycleActionToken: fc.option(tokenArb, { nil: undefined }),
      InstanceId: fc.option(instanceArb, { nil: undefined }),
    },
    TerminateInstanceInAutoScalingGroup: { InstanceId: instanceArb, ShouldDecrementDesiredCapacity: ok(bool) },
  };
  const plausibleArb = fc
    .constantFrom(...ACTIONS)
    .chain((action) => fc.tuple(fc.constant(action), fc.record(fields[action] ?? {}), fc.option(listArb, { nil: undefined, freq: 2 }), filtersArb))
    .map(([action, record, list, filters]) => {
      const p = new URLSearchParams({ Action: action, Version: VERSION });
      for (const [k, v] of Object.entries(record)) if (v !== undefined) p.set(k, v);
      list?.vs.forEach((v, i) => p.set(`${list.name}.member.${i + 1}`, v));
      if (action === 'DescribeAutoScalingGroups') addFilters(p, filters);
      return { p, note: `plausible ${action}` };
    });

  // Anything goes: any action, version, keys and values.
  const versionArb = fc.oneof(
    { weight: 3, arbitrary: fc.constant(VERSION) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', '2011-01-02', 'latest', `${VERSION} `, '2010-08-01') },
  );
  const anyArb = fc
    .tuple(actionArb, versionArb, fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }), fc.option(listArb, { nil: undefined, freq: 2 }), filtersArb)
    .map(([action, version, pairs, list, filters]) => {
      const p = new URLSearchParams();
      for (const [k, v] of pairs) p.append(k, v);
      list?.vs.forEach((v, i) => p.append(`${list.name}.member.${i + 1}`, v));
      addFilters(p, filters);
      // Last, so that no fuzzed key overrides them.
      p.set('Action', action);
      if (version === undefined) p.delete('Version');
      else p.set('Version', version);
      return { p, note: `form ${JSON.stringify(action)} version ${JSON.stringify(version)}` };
    });

  // Only Version 2011-01-01 picks Auto Scaling by itself; other versions are posted to /autoscaling,
  // whose errors are Auto Scaling's too (at "/" they would be EC2's, the first service).
  const PATHS = ['/', '/', '/autoscaling', '/autoscaling/', '/ec2'];
  const formRequest = fc
    .tuple(fc.oneof({ weight: 1, arbitrary: anyArb }, { weight: 1, arbitrary: plausibleArb }), fc.constantFrom(...PATHS), fc.nat({ max: 39 }))
    .filter(([{ p }]) => [...p.values()].every(unknown))
    .map(([{ p, note }, path, dice]): FuzzRequest => {
      const pinned = p.get('Version') === VERSION ? path : '/autoscaling';
      const query = p.toString();
      // One in 40 as a GET with the parameters in the URL (small ones only: Node answers a huge URL itself).
      if (dice === 0 && query.length < 8_000) return { body: '', method: 'GET', path: `${pinned}?${query}`, note: `GET ${note}` };
      return { body: query, contentType: 'application/x-www-form-urlencoded; charset=utf-8', path: pinned, note: `${note} at ${pinned}` };
    });

  return fc.oneof(
    { weight: 700, arbitrary: formRequest },
    { weight: 100, arbitrary: rawBytesRequest('/autoscaling') },
    // Bad %-encodings and stray separators around a real action.
    {
      weight: 100,
      arbitrary: fc
        .tuple(fc.constantFrom(...ACTIONS), fc.constantFrom('AutoScalingGroupName', 'InstanceId', 'AutoScalingGroupNames.member.1', 'NextToken'), fc.constantFrom(...BAD_ENCODINGS), garbageArb)
        .map(([a, key, junk, tail]): FuzzRequest => ({
          body: `Action=${a}&Version=${VERSION}&${key}=${junk}${tail}&${junk}=${junk}`,
          path: '/autoscaling',
          note: 'bad encoding',
        })),
    },
    // Other content types with a plausible body.
    {
      weight: 40,
      arbitrary: fc.constantFrom(...ODD_CONTENT_TYPES).map((ct): FuzzRequest => ({
        body: `{"Action":"DescribeAutoScalingGroups","Version":"${VERSION}"}`,
        contentType: ct,
        path: '/autoscaling',
        note: `content-type ${ct}`,
      })),
    },
    // Bodies past the 1 MiB limit.
    { weight: 2, arbitrary: fc.constant(oversizedRequest(`Action=DescribeAutoScalingGroups&Version=${VERSION}`, '/autoscaling')) },
  );
}

// ---- what every answer must be ------------------------------------------------------

const errorCodes = new Map<string, number>();
const messages: string[] = [];

function checkAnswer(req: FuzzRequest, res: FuzzAnswer): void {
  const where = `${req.note} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.requestId, where).toMatch(REQUEST_ID);
  expect(xmlProblem(res.text), where).toBeUndefined();
  if (res.status === 200) {
    const open = SUCCESS_OPEN.exec(res.text);
    expect(open, where).not.toBeNull();
    const action = open![1]!;
    // Only Describe calls can succeed: no request names an existing group or instance.
    const definition = Object.hasOwn(autoScalingService.actions, action) ? autoScalingService.actions[action] : undefined;
    expect(definition?.mutating, where).toBe(false);
    const body = res.text.slice(open![0].length);
    expect(body.startsWith(`<${action}Result>`), where).toBe(true);
    expect(body.endsWith(`</${action}Result><ResponseMetadata><RequestId>${res.requestId}</RequestId></ResponseMetadata></${action}Response>`), where).toBe(true);
  } else {
    // A 500 would be an unexpected exception in a handler: a bug the fuzzer found.
    expect([400, 413], where).toContain(res.status);
    const m = new RegExp(
      `^${literal(DECLARATION)}<ErrorResponse xmlns="${literal(XMLNS)}"><Error><Type>Sender</Type><Code>([\\w.]+)</Code><Message>([^<]*)</Message></Error><RequestId>${res.requestId}</RequestId></ErrorResponse>$`,
    ).exec(res.text);
    expect(m, where).not.toBeNull();
    errorCodes.set(m![1]!, (errorCodes.get(m![1]!) ?? 0) + 1);
    messages.push(m![2]!);
  }
}

describe('fuzzing the Auto Scaling API', () => {
  it(`answers ${RUNS} hostile requests with awsQuery XML and changes nothing`, async () => {
    const before = snapshot(lab.store);
    expect(before).toContain(HOOK_NAMES[1]);
    const statuses = await fuzzServer({ endpoint: lab.endpoint, store: lab.store, requests: hostileRequests(), runs: RUNS, seed: SEED, check: checkAnswer });
    // Anything a request wrongly set off (a replacement 10 ms on) has had time to show.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(snapshot(lab.store)).toBe(before);
    // The mix reached every kind of answer and got past validation to the lookups, so the checks above were exercised.
    expect(statuses.get(200)).toBeGreaterThan(50);
    expect(statuses.get(400)).toBeGreaterThan(RUNS / 2);
    expect(statuses.get(413)).toBeGreaterThan(0);
    for (const code of ['ValidationError', 'InvalidAction', 'InvalidNextToken', 'MissingAction', 'NoSuchVersion', 'MissingParameter'])
      expect(errorCodes.get(code), code).toBeGreaterThan(0);
    const count = (re: RegExp) => messages.filter((m) => re.test(m)).length;
    expect(count(/^AutoScalingGroup name not found/)).toBeGreaterThan(150);
    expect(count(/^Instance Id not found/)).toBeGreaterThan(50);
    expect(lab.api.requestLog.size).toBeGreaterThanOrEqual(RUNS);
  }, 120_000);

  it('still serves the SDK afterwards', async () => {
    const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: groupNames }));
    expect(out.AutoScalingGroups!.map((g) => g.AutoScalingGroupName).sort()).toEqual(groupNames);
    expect(out.AutoScalingGroups!.flatMap((g) => g.Instances!).every((i) => i.LifecycleState === 'InService')).toBe(true);
    const hooks = await client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupNames[0] }));
    expect(hooks.LifecycleHooks!.map((h) => h.LifecycleHookName).sort()).toEqual(HOOK_NAMES);
  });
});
