// A strict well-formedness check for the lab's XML answers: one root, balanced
// tags, only the five predefined entities or numeric references, no characters
// XML 1.0 forbids. Returns the first problem, or undefined.

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TAG = /^<(\/?)([A-Za-z_][\w.:-]*)(\s+xmlns="[^"<&]*")?\s*(\/?)>/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

export function xmlProblem(xml: string): string | undefined {
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  if (body === xml) return 'missing XML declaration';
  if (FORBIDDEN.test(body)) return 'a character XML 1.0 forbids';
  const open: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c === '<') {
      const m = TAG.exec(body.slice(i, i + 300));
      if (!m) return `bad tag at ${i}: ${body.slice(i, i + 40)}`;
      const [whole, closing, name, , selfClosing] = m;
      if (closing) {
        if (open.pop() !== name) return `unbalanced </${name}> at ${i}`;
      } else {
        if (open.length === 0 && ++roots > 1) return 'more than one root element';
        if (!selfClosing) open.push(name!);
      }
      i += whole.length;
    } else if (c === '&') {
      const m = ENTITY.exec(body.slice(i, i + 12));
      if (!m) return `bare & at ${i}`;
      i += m[0].length;
    } else {
      if (open.length === 0 && !/\s/.test(c!)) return `text outside the root at ${i}`;
      i++;
    }
  }
  if (open.length > 0) return `unclosed <${open[open.length - 1]}>`;
  return roots === 1 ? undefined : 'no root element';
}
