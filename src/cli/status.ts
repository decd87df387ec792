// `natkeeper status`: per zone, which NAT egress goes through and how (floating ENI or
// route), the route tables and their targets; per node, EC2 state and verdict; the lease
// holder and its fencing token; the latest decisions.
import { observeVpc } from '../controller/observe.js';
import { assess } from '../controller/loop.js';
import { indexVpc, tableVia, tablesOf } from '../domain/planner/index.js';
import type { RouteTarget } from '../domain/planner/index.js';
import { runOpsCommand, type OpsCommand, type OpsIo } from './ops-command.js';
import { formatTable } from './table.js';

const targetText = (t: RouteTarget) => (t.kind === 'none' ? 'none' : t.id);

export const statusCommand: OpsCommand<object> = {
  name: 'status',
  description: 'zones, the NAT each egresses through and how, route targets, verdicts, the lease holder and token',
  async run(ctx, opts, out) {
    const [vpc, v, lease, history] = await Promise.all([observeVpc(ctx.ec2, ctx.observe), ctx.verdicts(), ctx.leaseStore.current(), ctx.leaseStore.history(5)]);
    const idx = indexVpc(vpc);
    const { health } = assess(v.verdicts, Date.now());
    const zones = vpc.zones.map((z) => {
      const tables = tablesOf(vpc, z.name);
      const vias = [
        ...new Set(
          tables.map((t) => {
            const via = tableVia(idx, t);
            return via.kind === 'node' ? via.node : via.kind === 'nat-gateway' ? via.id : `none (${via.why})`;
          }),
        ),
      ];
      const how = tables.every((t) => z.floatingEni && t.target.kind === 'eni' && t.target.id === z.floatingEni.eniId) ? 'floating ENI' : 'route';
      return {
        zone: z.name,
        egressVia: vias,
        strategy: how,
        routeTables: tables.map((t) => ({ id: t.id, target: targetText(t.target), blackhole: t.blackhole })),
        floatingEni: z.floatingEni ? { id: z.floatingEni.eniId, attachedTo: z.floatingEni.attachedTo ?? null } : null,
      };
    });
    const nodes = vpc.nodes.map((n) => ({ id: n.id, zone: n.zone, ec2: n.state, verdict: health.get(n.id)?.state ?? 'unknown' }));
    const verdictsNote = 'source' in v ? `verdicts from ${v.source}` : `verdicts unavailable: ${v.unavailable}`;
    if (opts.json) {
      out(JSON.stringify({ vpcId: ctx.observe.vpcId, zones, nodes, lease, decisions: history, verdicts: 'source' in v ? { source: v.source } : { unavailable: v.unavailable } }, null, 2));
      return 0;
    }
    out(
      formatTable(
        ['zone', 'egress via', 'how', 'route tables → target', 'floating ENI'],
        zones.map((z) => [
          z.zone,
          z.egressVia.join(', '),
          z.strategy,
          `${z.routeTables.length} → ${[...new Set(z.routeTables.map((t) => t.target + (t.blackhole ? ' (blackhole)' : '')))].join(', ')}`,
          z.floatingEni ? `${z.floatingEni.id} on ${z.floatingEni.attachedTo ?? 'nothing'}` : '-',
        ]),
      ),
    );
    out('');
    out(formatTable(['node', 'zone', 'EC2', 'verdict'], nodes.map((n) => [n.id, n.zone, n.ec2, n.verdict])));
    out('');
    out(`lease: ${lease ? `${lease.holder}, token ${lease.token}, expires in ${Math.max(0, Math.round((lease.expiresAt - Date.now()) / 100) / 10)} s` : 'nobody holds it'}`);
    out(verdictsNote);
    for (const d of history) out(`decision ${d.seq} (token ${d.token}, ${new Date(d.at).toISOString()}): ${d.action} by ${d.holder}${typeof d.detail?.['reason'] === 'string' ? ` — ${d.detail['reason']}` : ''}`);
    return 0;
  },
};

export const runStatusCli = (argv: readonly string[], io?: OpsIo) => runOpsCommand(statusCommand, argv, io);
