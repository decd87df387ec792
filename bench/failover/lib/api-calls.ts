// Mutating EC2 calls in a time window, from the lab API's request log: whoever made
// them (a natkeeper leader through its VPC endpoint, or a baseline from the host).
// Which actions mutate is EC2's own category, as the lab's EC2 service declares it.
import { ec2Service } from '../../../lab/emulator/ec2/service.js';
import type { RunningLab } from '../../../lab/lab.js';

export interface ApiCallCount {
  total: number;
  /** Action → calls (failed attempts included: they count against the bucket too). */
  byAction: Record<string, number>;
}

export function mutatingEc2Calls(lab: RunningLab, fromMs: number, toMs: number): ApiCallCount {
  const byAction: Record<string, number> = {};
  let total = 0;
  for (const e of lab.api.requestLog.entries()) {
    if (e.time < fromMs || e.time > toMs || e.service !== 'ec2' || !e.action) continue;
    if (!ec2Service.actions[e.action]?.mutating) continue;
    byAction[e.action] = (byAction[e.action] ?? 0) + 1;
    total++;
  }
  return { total, byAction };
}
