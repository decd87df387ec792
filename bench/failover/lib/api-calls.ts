// API calls in a time window, from the lab API's request log, counted per action. The
// failover bench counts mutating EC2 calls whoever made them (a natkeeper leader through
// its VPC endpoint, or a baseline from the host); which actions mutate is EC2's own
// category, as the lab's EC2 service declares it. The Lambda bench counts the Lambda's.
import { ec2Service } from '../../../lab/emulator/ec2/service.js';
import type { RequestLogEntry } from '../../../lab/emulator/query/request-log.js';
import type { RunningLab } from '../../../lab/lab.js';

export interface ApiCallCount {
  total: number;
  /** Action → calls (failed attempts included: they count against the bucket too); '?' for a call with no action. */
  byAction: Record<string, number>;
}

/** The calls in [fromMs, toMs] that `keep` selects. */
export function apiCalls(lab: Pick<RunningLab, 'api'>, fromMs: number, toMs: number, keep: (e: RequestLogEntry) => boolean): ApiCallCount {
  const byAction: Record<string, number> = {};
  let total = 0;
  for (const e of lab.api.requestLog.entries()) {
    if (e.time < fromMs || e.time > toMs || !keep(e)) continue;
    const action = e.action ?? '?';
    byAction[action] = (byAction[action] ?? 0) + 1;
    total++;
  }
  return { total, byAction };
}

const isMutatingEc2 = (e: RequestLogEntry) => e.service === 'ec2' && e.action !== undefined && ec2Service.actions[e.action]?.mutating === true;

export function mutatingEc2Calls(lab: RunningLab, fromMs: number, toMs: number): ApiCallCount {
  return apiCalls(lab, fromMs, toMs, isMutatingEc2);
}
