// The controller's decision log (DynamoDB, the same records `natkeeper history` prints),
// read from the host for the demo: the plan (strategy, target, reason) and the actions
// of each decision, with the lab's names instead of IDs.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DecisionRecord, LeaseState } from '../src/domain/ports/lease-store.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb.js';
import type { RunningLab } from './lab.js';
import { nameOf, namesIn } from './demo-placement.js';

/** Egress-moving actions (what the lab's EC2 API counts as the controller's calls). */
export const EGRESS_ACTIONS = new Set(['DetachNetworkInterface', 'AttachNetworkInterface', 'ReplaceRoute', 'ReplaceRouteTableAssociation']);

/** A decision detail's string field, or `fallback`. */
const text = (v: unknown, fallback = '-'): string => (typeof v === 'string' ? v : fallback);

export class DecisionLog {
  private readonly client: DynamoDBClient;
  private readonly store: DynamoDbLeaseStore;

  constructor(
    private readonly lab: RunningLab,
    tableName: string,
  ) {
    this.client = new DynamoDBClient({ endpoint: lab.endpoints.dynamodb, region: lab.manifest.region, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
    this.store = new DynamoDbLeaseStore({ client: this.client, tableName, clock: { now: () => Date.now() } });
  }

  /** The latest record's seq (0 for an empty log). */
  async lastSeq(): Promise<number> {
    return (await this.store.history(1))[0]?.seq ?? 0;
  }

  /** The lease as stored (same table): who holds it, with which fencing token; null when nobody ever did. */
  lease(): Promise<LeaseState | null> {
    return this.store.current();
  }

  /** Records after `seq`, oldest first. */
  async since(seq: number): Promise<DecisionRecord[]> {
    return (await this.store.history(50)).filter((r) => r.seq > seq).reverse();
  }

  /** "#4 failover zone b: route-replace via nat-c1 — nat-b1 is unhealthy: …" */
  describe(r: DecisionRecord): string[] {
    const d = r.detail ?? {};
    const via = text(d['via']);
    const head = `decision #${r.seq} by ${this.name(r.holder)} (fencing token ${r.token}): ${r.action} zone ${text(d['zone'])}, ${text(d['strategy'], 'no strategy')} via ${via === '-' ? via : this.name(via)}`;
    const actions = Array.isArray(d['actions']) ? d['actions'] : [];
    return [head, `  why: ${namesIn(this.lab, text(d['reason']))}`, ...actions.map((a) => `  action: ${this.action(a as Record<string, string>)}`)];
  }

  strategyOf(r: DecisionRecord): string {
    return text(r.detail?.['strategy'], r.action);
  }

  close(): void {
    this.client.destroy();
  }

  private action(a: Record<string, string>): string {
    switch (a['kind']) {
      case 'detach-eni':
        return `DetachNetworkInterface ${this.eni(a['eni']!)} from ${this.name(a['from']!)}`;
      case 'attach-eni':
        return `AttachNetworkInterface ${this.eni(a['eni']!)} to ${this.name(a['to']!)}`;
      case 'replace-route':
        return `ReplaceRoute ${a['table']} 0.0.0.0/0 → ${this.eni(a['to']!)}`;
      case 'replace-association':
        return `ReplaceRouteTableAssociation ${a['subnet']} → ${a['table']}`;
      default:
        return JSON.stringify(a);
    }
  }

  /** An instance's Name (IDs of other things pass through). */
  private name(id: string): string {
    return id.startsWith('i-') ? nameOf(this.lab, id) : id;
  }

  /** "eni-0abc (floating ENI of zone b)" or "eni-0abc (nat-c1's own ENI)". */
  private eni(id: string): string {
    const eni = this.lab.store.networkInterfaces.get(id);
    if (!eni) return id;
    const zone = eni.tags.find((t) => t.key === 'natkeeper:floating')?.value;
    if (zone) return `${id} (floating ENI of zone ${zone})`;
    return eni.attachment ? `${id} (${nameOf(this.lab, eni.attachment.instanceId)}'s own ENI)` : id;
  }
}
