// Probe loss on every echo target: in the lab's internet namespace, pct percent of the
// TCP connection attempts (SYN without ACK) to the echo port are dropped at random, so
// each TCP probe, from any vantage, fails with probability pct/100, independently, and
// nothing else (heartbeats, replies, forwarded app traffic) is touched. The chaos `loss`
// verb is not used here: it drops on every link of an instance, both directions, so a
// probe through a peer crosses it several times and its loss compounds (see the report).

import type { DataPlane } from '../../../lab/netns/dataplane.js';

const TABLE = 'nkbench_probe_loss';

export async function setProbeLoss(dp: DataPlane, pct: number): Promise<void> {
  if (!Number.isFinite(pct) || pct < 0 || pct > 99) throw new Error(`probe loss must be 0..99 percent, got ${pct}`);
  const { echoTargets, echoPort } = dp.topology.internet;
  const lines = [`table inet ${TABLE}`, `delete table inet ${TABLE}`];
  if (pct > 0)
    lines.push(
      `table inet ${TABLE} {`,
      '  chain pre {',
      '    type filter hook prerouting priority -300; policy accept;',
      `    ip daddr { ${echoTargets.join(', ')} } tcp dport ${echoPort} tcp flags & (syn | ack) == syn numgen random mod 100 < ${pct} counter drop`,
      '  }',
      '}',
    );
  const r = await dp.execNs(dp.inetNs, ['nft', '-f', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`probe loss ${pct}%: nft failed: ${r.stderr.trim()}`);
}

/** Packets the loss rule dropped so far (0 when it is not installed). */
export async function probeLossDrops(dp: DataPlane): Promise<number> {
  const r = await dp.execNs(dp.inetNs, ['nft', 'list', 'table', 'inet', TABLE], { timeoutMs: 10_000 });
  const m = /counter packets (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}
