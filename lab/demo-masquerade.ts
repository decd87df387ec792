// A hung NAT the way it happens in production: the instance runs, EC2 says healthy, it
// still forwards packets, but its masquerade rule is gone, so packets leave with their
// private source address and the internet gateway drops them. (The lab's `chaos hang`
// drops forwarded packets instead; this is the other way to hang.)
//
// Every masquerade rule in the NAT's namespace is deleted (natkeeper's, in table
// `ip natkeeper`, and the lab's bootstrap one if it is still there), and the deleted
// rules are kept, so restore() puts them back as they were. The agent reports the
// change (its drift check, every 10 s) but does not repair it.
import type { DataPlane } from './netns/dataplane.js';

interface RemovedRule {
  family: string;
  table: string;
  chain: string;
  /** The rule as `nft list` prints it, without its handle. */
  text: string;
}

/** The masquerade rules of a `nft -a list ruleset` listing, with where they live and their handles. */
export function masqueradeRules(listing: string): (RemovedRule & { handle: number })[] {
  const out: (RemovedRule & { handle: number })[] = [];
  let family = '';
  let table = '';
  let chain = '';
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) [family, table] = [t[1]!, t[2]!];
    const c = /^chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    const r = /^(.*\bmasquerade\b.*?)\s*# handle (\d+)$/.exec(line);
    if (r && table && chain) out.push({ family, table, chain, text: r[1]!, handle: Number(r[2]) });
  }
  return out;
}

export interface MasqueradeRemoval {
  /** What was deleted, one line per rule ("ip natkeeper postrouting: oifname … masquerade"). */
  removed: string[];
  /** Adds the deleted rules back. */
  restore(): Promise<void>;
}

async function nftIn(dp: DataPlane, instanceId: string, args: string[]): Promise<string> {
  const r = await dp.exec(instanceId, ['nft', ...args], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')} in ${instanceId}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function removeMasquerade(dp: DataPlane, instanceId: string): Promise<MasqueradeRemoval> {
  const rules = masqueradeRules(await nftIn(dp, instanceId, ['-a', 'list', 'ruleset']));
  if (!rules.length) throw new Error(`${instanceId} has no masquerade rule to remove`);
  for (const r of rules) await nftIn(dp, instanceId, ['delete', 'rule', r.family, r.table, r.chain, 'handle', String(r.handle)]);
  return {
    removed: rules.map((r) => `${r.family} ${r.table} ${r.chain}: ${r.text}`),
    async restore() {
      // `nft add rule` takes the listed text as is (counters and comments included).
      for (const r of rules) await nftIn(dp, instanceId, ['add', 'rule', r.family, r.table, r.chain, ...splitWords(r.text)]);
    },
  };
}

/** nft's own tokenizer re-joins the words; quoted strings (comments, names) must stay one argument. */
function splitWords(text: string): string[] {
  return text.match(/"[^"]*"|\S+/g) ?? [];
}
