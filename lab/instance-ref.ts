// Operators name instances by ID or by Name tag (nat-a1); this resolves either.
import type { LabStore } from './emulator/store.js';

export function resolveInstanceRef(store: LabStore, ref: string): string {
  if (store.instances.get(ref)) return ref;
  const byName = store.instances
    .values()
    .filter((i) => i.state !== 'terminated' && i.tags.some((t) => t.key === 'Name' && t.value === ref));
  if (byName.length === 1) return byName[0]!.instanceId;
  if (byName.length > 1) throw new Error(`instance name "${ref}" matches ${byName.length} instances; use an instance ID`);
  throw new Error(`no instance "${ref}" (give an instance ID like i-0… or a Name tag like nat-a1)`);
}
