import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lab/emulator/errors.js';
import { resolveCall, serviceForErrors } from '../../lab/emulator/query/dispatch.js';
import { redactParams, RequestLog, type RequestLogEntry } from '../../lab/emulator/query/request-log.js';
import type { ServiceDefinition } from '../../lab/emulator/query/types.js';

const noop = { mutating: false, handler: () => ({}) };
const ec2: ServiceDefinition = { name: 'ec2', version: '2016-11-15', xmlns: 'e', listItem: 'item', wrapResult: false, actions: { DescribeVpcs: noop } };
const asg: ServiceDefinition = {
  name: 'autoscaling',
  version: '2011-01-01',
  xmlns: 'a',
  listItem: 'member',
  wrapResult: true,
  actions: { DescribeAutoScalingGroups: noop },
};
const services = [ec2, asg];

function codeOf(params: Record<string, string>): string {
  try {
    resolveCall(services, params);
    return 'ok';
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
}

describe('resolveCall', () => {
  it('picks the service by Version and the action by name', () => {
    expect(resolveCall(services, { Action: 'DescribeVpcs', Version: '2016-11-15' }).service.name).toBe('ec2');
    expect(resolveCall(services, { Action: 'DescribeAutoScalingGroups', Version: '2011-01-01' }).service.name).toBe('autoscaling');
  });

  it.each([
    [{ Version: '2016-11-15' }, 'MissingAction'],
    [{ Action: '', Version: '2016-11-15' }, 'MissingAction'],
    [{ Action: 'DescribeVpcs' }, 'MissingParameter'],
    [{ Action: 'DescribeVpcs', Version: '1999-01-01' }, 'NoSuchVersion'],
    [{ Action: 'DescribeAutoScalingGroups', Version: '2016-11-15' }, 'InvalidAction'],
    [{ Action: 'RunInstances', Version: '2016-11-15' }, 'InvalidAction'],
    [{ Action: 'constructor', Version: '2016-11-15' }, 'InvalidAction'],
    [{ Action: '__proto__', Version: '2016-11-15' }, 'InvalidAction'],
  ])('%j → %s', (params, code) => expect(codeOf(params)).toBe(code));
});

describe('serviceForErrors', () => {
  it('answers in the dialect of the Version, else of the path, else EC2', () => {
    expect(serviceForErrors(services, { Version: '2011-01-01' }, '/')?.name).toBe('autoscaling');
    expect(serviceForErrors(services, {}, '/autoscaling/')?.name).toBe('autoscaling');
    expect(serviceForErrors(services, {}, '/')?.name).toBe('ec2');
    expect(serviceForErrors(services, { Version: 'nope' }, '/ec2')?.name).toBe('ec2');
  });
});

describe('request log', () => {
  const entry = (n: number): RequestLogEntry => ({ time: n, requestId: `r${n}`, params: {}, status: 200, durationMs: 1 });

  it('keeps the last N entries, oldest first', () => {
    const log = new RequestLog(3);
    for (let i = 1; i <= 5; i++) log.add(entry(i));
    expect(log.size).toBe(3);
    expect(log.entries().map((e) => e.requestId)).toEqual(['r3', 'r4', 'r5']);
    expect(log.entries(2).map((e) => e.requestId)).toEqual(['r4', 'r5']);
    log.clear();
    expect(log.entries()).toEqual([]);
  });

  it('redacts signature parameters and bounds what it keeps', () => {
    const params: Record<string, string> = { Action: 'X', 'X-Amz-Signature': 's', 'X-Amz-Credential': 'c', AWSAccessKeyId: 'k', NextToken: 't', Big: 'v'.repeat(10_000) };
    for (let i = 0; i < 200; i++) params[`InstanceId.${i}`] = 'i';
    const kept = redactParams(params);
    expect(kept.Action).toBe('X');
    expect(kept.NextToken).toBe('t');
    expect(kept['X-Amz-Signature']).toBeUndefined();
    expect(kept['X-Amz-Credential']).toBeUndefined();
    expect(kept.AWSAccessKeyId).toBeUndefined();
    expect(kept.Big!.length).toBeLessThan(300);
    expect(Object.keys(kept).length).toBeLessThanOrEqual(65);
  });
});
