// `natkeeper history [--limit N]`: the decision log, newest first.
import { runOpsCommand, UsageError, type OpsCommand, type OpsIo } from './ops-command.js';
import { formatTable } from './table.js';

export const historyCommand: OpsCommand<{ limit: string }> = {
  name: 'history',
  description: 'the decision log (each decision with its fencing token), newest first',
  options: (cmd) => cmd.option('--limit <n>', 'how many decisions (1-1000)', '20'),
  async run(ctx, opts, out) {
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit: expected a whole number from 1 to 1000, got ${JSON.stringify(opts.limit)}`);
    const records = await ctx.leaseStore.history(limit);
    if (opts.json) {
      out(JSON.stringify(records, null, 2));
      return 0;
    }
    if (!records.length) {
      out('no decisions yet');
      return 0;
    }
    const field = (d: { [k: string]: unknown } | undefined, k: string) => (typeof d?.[k] === 'string' ? (d[k]) : undefined);
    out(formatTable(['seq', 'time', 'token', 'holder', 'action', 'zone', 'strategy', 'via', 'reason'], records.map((r) => [r.seq, new Date(r.at).toISOString(), r.token, r.holder, r.action, field(r.detail, 'zone'), field(r.detail, 'strategy'), field(r.detail, 'via'), field(r.detail, 'reason')])));
    return 0;
  },
};

export const runHistoryCli = (argv: readonly string[], io?: OpsIo) => runOpsCommand(historyCommand, argv, io);
