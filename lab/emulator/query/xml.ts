// XmlValue → XML bytes. Hot path of every Describe call (a page of 100 route
// tables is ~3,000 elements, 75 KB), so it writes text directly, with no DOM,
// and passes cached fragments through as bytes: encoding (or even copying) a
// 75 KB document on every call cost more than deciding what goes in it.

import type { XmlValue } from './types.js';

/**
 * Already-serialized element content (UTF-8), written out as-is: how a handler
 * reuses the XML of a record that has not changed (see fragment-cache.ts).
 */
export class XmlFragment {
  private readonly wrapped = new Map<string, Buffer>();

  constructor(readonly bytes: Buffer) {}

  /** `<name>content</name>` as one buffer, built once per element name. */
  asElement(name: string): Buffer {
    let element = this.wrapped.get(name);
    if (!element) this.wrapped.set(name, (element = Buffer.concat([Buffer.from(`<${name}>`), this.bytes, Buffer.from(`</${name}>`)])));
    return element;
  }
}

/**
 * Characters XML 1.0 text cannot hold as-is: markup, "\r" (parsers would
 * normalise it away), C0 controls, surrogates (checked for pairing) and U+FFFE/U+FFFF.
 */
function needsEscape(c: number): boolean {
  return c < 0x20 ? c !== 0x09 && c !== 0x0a : c === 0x26 || c === 0x3c || c === 0x3e || (c >= 0xd800 && (c <= 0xdfff || c >= 0xfffe));
}

/**
 * Escapes text content. Characters XML cannot carry at all (NUL, lone
 * surrogates…) become U+FFFD, so echoing a fuzzed parameter in an error
 * message still yields a document every XML parser accepts.
 */
export function escapeXml(text: string): string {
  let i = 0;
  // Fast path: most values (IDs, CIDRs, states) need nothing. A charCode scan beats a regex on short strings.
  for (; i < text.length; i++) if (needsEscape(text.charCodeAt(i))) break;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x0d) out += '&#13;';
    else if (c === 0x09 || c === 0x0a) out += text[i];
    else if (c < 0x20 || c === 0xfffe || c === 0xffff) out += '\ufffd';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) out += text[i]! + text[++i]!;
      else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += text[i];
  }
  return out;
}

/** A document being written: text as it comes, cached fragments as their bytes. */
export class XmlWriter {
  private readonly chunks: Buffer[] = [];
  private pending = '';

  text(markup: string): void {
    this.pending += markup;
  }

  bytes(fragment: Buffer): void {
    this.flushText();
    this.chunks.push(fragment);
  }

  private flushText(): void {
    if (this.pending === '') return;
    this.chunks.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }

  /** The document as written, in pieces: a large cached fragment is sent as is, never copied. */
  toChunks(): Buffer[] {
    this.flushText();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
}

/**
 * One element. Arrays become lists with each entry wrapped in `listItem`
 * (<item> for EC2, <member> for awsQuery); an empty list is an empty element,
 * which the SDKs read as []. null/undefined entries are left out.
 */
export function writeElement(out: XmlWriter, name: string, value: XmlValue, listItem: string): void {
  if (value === null || value === undefined) return;
  if (value instanceof XmlFragment) out.bytes(value.asElement(name));
  else if (Array.isArray(value)) {
    if (value.length === 0) return out.text(`<${name}/>`);
    out.text(`<${name}>`);
    for (const entry of value) writeElement(out, listItem, entry, listItem);
    out.text(`</${name}>`);
  } else if (typeof value === 'object') {
    out.text(`<${name}>`);
    writeFields(out, value, listItem);
    out.text(`</${name}>`);
  } else {
    out.text(`<${name}>${typeof value === 'string' ? escapeXml(value) : String(value)}</${name}>`);
  }
}

/** An object's entries as sibling elements, in key order. */
export function writeFields(out: XmlWriter, value: { [element: string]: XmlValue }, listItem: string): void {
  for (const name in value) writeElement(out, name, value[name], listItem);
}

/** An object's entries as sibling elements, as bytes (a fragment's content). */
export function renderFields(value: { [element: string]: XmlValue }, listItem: string): Buffer {
  const out = new XmlWriter();
  writeFields(out, value, listItem);
  return out.toBuffer();
}
