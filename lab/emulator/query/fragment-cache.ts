// Reuses the serialized XML of records between Describe calls. The store
// replaces a record object on every change (copy-on-write), so an unchanged
// object means unchanged data; what a record's XML also shows from elsewhere
// (a route's live state, the instance behind an ENI) goes into `live`, a list
// of values compared one by one.
// A controller polling DescribeRouteTables over hundreds of unchanged tables
// then costs a lookup per table instead of ~30 elements of serialization.

import type { XmlValue } from './types.js';
import { renderFields, XmlFragment } from './xml.js';

export class FragmentCache<R extends object> {
  private readonly entries = new WeakMap<R, { live: readonly unknown[]; fragment: XmlFragment }>();
  /** Recently joined lists, newest first: a poller asks for the same page again and again. */
  private readonly lists: { parts: readonly XmlFragment[]; joined: XmlFragment }[] = [];

  constructor(private readonly listItem: string) {}

  /** The record's fragment, rebuilt with `view` when the record or its live values changed. */
  get(record: R, live: readonly unknown[], view: () => { [element: string]: XmlValue }): XmlFragment {
    const hit = this.entries.get(record);
    if (hit && sameValues(hit.live, live)) return hit.fragment;
    const fragment = new XmlFragment(renderFields(view(), this.listItem));
    this.entries.set(record, { live, fragment });
    return fragment;
  }

  /**
   * A list of fragments (as for a Describe answer's set) as one fragment of
   * <item>…</item> entries, reused while the same fragments come in the same order.
   */
  list(parts: readonly XmlFragment[]): XmlValue {
    if (parts.length === 0) return [];
    const hit = this.lists.find((l) => sameValues(l.parts, parts));
    if (hit) return hit.joined;
    const joined = new XmlFragment(Buffer.concat(parts.map((p) => p.asElement(this.listItem))));
    this.lists.unshift({ parts, joined });
    if (this.lists.length > MAX_LISTS) this.lists.pop();
    return joined;
  }
}

const MAX_LISTS = 8;

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
