// `natkeeper plan`: what the controller would do now (dry run): observe, assess with the
// agent's verdicts, plan; nothing is changed.
import { planFromObservation } from '../controller/loop.js';
import type { Action } from '../domain/planner/index.js';
import { readSituation } from './controller-context.js';
import { runOpsCommand, type OpsCommand, type OpsIo } from './ops-command.js';
import { formatTable } from './table.js';

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'detach-eni':
      return `DetachNetworkInterface ${a.eniId} from ${a.from} (forced)`;
    case 'attach-eni':
      return `AttachNetworkInterface ${a.eniId} to ${a.to} at device ${a.deviceIndex}`;
    case 'replace-route':
      return `ReplaceRoute ${a.routeTableId} 0.0.0.0/0 → ${a.target.kind === 'none' ? 'none' : a.target.id}`;
    case 'replace-association':
      return `ReplaceRouteTableAssociation ${a.associationId} (${a.subnetId}) → ${a.routeTableId}`;
  }
}

export const planCommand: OpsCommand<object> = {
  name: 'plan',
  description: 'what the controller would do now (dry run, nothing changes)',
  async run(ctx, opts, out) {
    const { vpc, verdicts: v, records } = await readSituation(ctx);
    const p = planFromObservation(vpc, v.verdicts, records, ctx.policy, Date.now());
    if (opts.json) {
      out(JSON.stringify({ ...p, verdicts: 'source' in v ? { source: v.source } : { unavailable: v.unavailable } }, null, 2));
      return 0;
    }
    out(formatTable(['zone', 'outcome', 'strategy', 'via', 'reason'], p.decisions.map((d) => [d.zone, d.outcome, d.strategy, d.via, d.reason])));
    out('');
    out(p.actions.length ? `${p.actions.length} mutating call(s), in order:\n${p.actions.map((a, i) => `  ${i + 1}. ${describeAction(a)}`).join('\n')}` : 'no mutating calls: the VPC is as it should be');
    if (!('source' in v)) out(`note: verdicts unavailable (${v.unavailable}); planned from EC2 state alone — a NAT without a healthy verdict is never chosen`);
    return 0;
  },
};

export const runPlanCli = (argv: readonly string[], io?: OpsIo) => runOpsCommand(planCommand, argv, io);
