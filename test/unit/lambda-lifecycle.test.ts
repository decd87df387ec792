// completeTermination: CONTINUE by token, fenced before every attempt (a lost lease sends
// nothing, also between SDK-level retries), and an action that is no longer active is
// reported rather than thrown.
import { describe, expect, it } from 'vitest';
import { completeTermination } from '../../src/lambda/lifecycle.js';
import { createLogger } from '../../src/telemetry/logger.js';

const action = { instanceId: 'i-0123456789abcdef0', groupName: 'natkeeper-a', hookName: 'natkeeper-terminate', token: '87654321-4321-4321-4321-210987654321' };
const log = createLogger({ write: () => {} });

function client(answer: (n: number) => Promise<unknown>) {
  const inputs: unknown[] = [];
  return { inputs, send: async (cmd: unknown) => answer(inputs.push((cmd as { input: unknown }).input)) };
}

describe('completeTermination', () => {
  it('held: CONTINUE with the event’s token, group and hook', async () => {
    const c = client(async () => ({}));
    expect(await completeTermination(c, action, { isLeader: () => true }, log)).toEqual({ completed: true, reason: 'CONTINUE: the instance carries no egress' });
    expect(c.inputs).toEqual([{ AutoScalingGroupName: 'natkeeper-a', LifecycleHookName: 'natkeeper-terminate', LifecycleActionToken: action.token, LifecycleActionResult: 'CONTINUE' }]);
  });

  it('the lease lost: nothing sent, left open with the reason', async () => {
    const c = client(async () => ({}));
    const out = await completeTermination(c, action, { isLeader: () => false }, log);
    expect(out).toEqual({ completed: false, reason: expect.stringMatching(/^the lease was lost before completing/) });
    expect(c.inputs).toEqual([]);
  });

  it('the lease lost while a throttled attempt waits for its retry: the retry is not sent', async () => {
    let leader = true;
    const c = client(async () => {
      leader = false;
      throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    });
    const out = await completeTermination(c, action, { isLeader: () => leader }, log);
    expect(out.completed).toBe(false);
    expect(c.inputs).toHaveLength(1);
  });

  it('no active lifecycle action (the node’s agent completed it, or it timed out): reported, not thrown', async () => {
    const c = client(async () => {
      throw Object.assign(new Error('No active Lifecycle Action found with token 8765…'), { name: 'ValidationError' });
    });
    expect(await completeTermination(c, action, { isLeader: () => true }, log)).toEqual({ completed: false, reason: expect.stringContaining('no longer active') });
  });

  it('another error is thrown (the async retry runs the cycle again)', async () => {
    const c = client(async () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied' });
    });
    await expect(completeTermination(c, action, { isLeader: () => true }, log)).rejects.toThrow('denied');
  });
});
