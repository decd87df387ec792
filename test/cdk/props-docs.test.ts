// docs/deploy.md's props table says what infra/cdk/props.ts's TSDoc says: the same props,
// and each default word for word (the table only adds `code` marks). Either drifting
// alone fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** prop → its @default text (undefined when it has none: a required prop). */
function tsdocDefaults(source: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const m of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)\??:/g)) {
    const text = m[1]!
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, '').trim())
      .join(' ');
    const def = /@default (.*?)\s*$/.exec(text)?.[1];
    // NatKeeperLeaseStoreOptions.table is documented under leaseStore.
    if (m[2] !== 'table') out.set(m[2]!, def);
  }
  return out;
}

/** prop → the table's default column, `code` marks removed. */
function tableDefaults(markdown: string): Map<string, string> {
  const section = markdown.slice(markdown.indexOf('### Props'));
  const out = new Map<string, string>();
  for (const m of section.matchAll(/^\| `(\w+)` \| (.*?) \| .* \|$/gm)) out.set(m[1]!, m[2]!.replaceAll('`', ''));
  return out;
}

describe('docs/deploy.md props table', () => {
  const tsdoc = tsdocDefaults(readFileSync(join(ROOT, 'infra', 'cdk', 'props.ts'), 'utf8'));
  const table = tableDefaults(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8'));

  it('lists exactly the props of NatKeeperProps and NatKeeperOptions', () => {
    expect([...table.keys()].sort()).toEqual([...tsdoc.keys()].sort());
    expect(tsdoc.size).toBeGreaterThan(10);
  });

  it('gives every optional prop the default its TSDoc gives, and marks the rest required', () => {
    for (const [prop, def] of tsdoc) {
      if (def === undefined) expect(table.get(prop), prop).toMatch(/^\(required/);
      else expect(table.get(prop), prop).toBe(def);
    }
  });
});
