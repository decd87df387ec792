// The Lambda's metrics, emitted once per invocation as EMF lines (src/lambda/emf.ts):
// one line without dimensions (what the CDK alarms watch) and one per zone that moved
// its egress, with the Zone dimension. Names are fixed by the contract with the CDK:
//   Failovers              zones whose egress moved away from their NAT (failover, or a
//                          planned handover), as executed
//   Failbacks              zones whose egress returned to a zone-local NAT
//   OutageSecondsEstimated for unplanned failovers: from the evidence of the failure
//                          (see cycle.ts) to the end of the executed action; 0 for
//                          planned handovers (egress moved while the NAT still worked)
//   LeaseChanges           1 when this invocation got a new fencing token
//   ApiThrottles           throttling errors seen (every attempt, SDK retries included)
//   LeaseHeld              1 when a live holder holds the lease after the invocation
//   ZonesWithoutEgress     managed zones without working egress after the invocation
// LeaseHeld and ZonesWithoutEgress need a read of the store and of EC2: an ignored
// (malformed) event makes no call, so it emits neither; the every-minute schedule does.
import { emfLine } from './emf.js';

export interface ZoneMetrics {
  zone: string;
  failovers: number;
  failbacks: number;
  outageSeconds: number;
}

export interface LambdaMetrics {
  failovers: number;
  failbacks: number;
  outageSeconds: number;
  leaseChanges: number;
  apiThrottles: number;
  /** Absent when the invocation did not read the lease (bad input). */
  leaseHeld?: number;
  /** Absent when the invocation did not observe the VPC. */
  zonesWithoutEgress?: number;
  /** Zones that moved their egress in this invocation. */
  zones: ZoneMetrics[];
}

export function metricsLines(namespace: string, m: LambdaMetrics, timestamp: number): string[] {
  const moved = (z: Pick<ZoneMetrics, 'failovers' | 'failbacks' | 'outageSeconds'>) => [
    { name: 'Failovers', unit: 'Count' as const, value: z.failovers },
    { name: 'Failbacks', unit: 'Count' as const, value: z.failbacks },
    { name: 'OutageSecondsEstimated', unit: 'Seconds' as const, value: z.outageSeconds },
  ];
  const total = emfLine({
    namespace,
    timestamp,
    dimensions: {},
    metrics: [
      ...moved(m),
      { name: 'LeaseChanges', unit: 'Count', value: m.leaseChanges },
      { name: 'ApiThrottles', unit: 'Count', value: m.apiThrottles },
      ...(m.leaseHeld !== undefined ? [{ name: 'LeaseHeld', unit: 'Count' as const, value: m.leaseHeld }] : []),
      ...(m.zonesWithoutEgress !== undefined ? [{ name: 'ZonesWithoutEgress', unit: 'Count' as const, value: m.zonesWithoutEgress }] : []),
    ],
  });
  return [total, ...m.zones.map((z) => emfLine({ namespace, timestamp, dimensions: { Zone: z.zone }, metrics: moved(z) }))];
}
