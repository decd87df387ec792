// Plain-text tables for human CLI output (machine output is --json).

export type Cell = string | number | boolean | undefined | null;

export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => headers.map((_, i) => (r[i] === undefined || r[i] === null ? '-' : String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
