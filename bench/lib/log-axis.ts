// The log-scale y axis both benches' SVG charts draw on: ms values from `lo` to `hi`
// mapped onto [top, top + height] (large values up), and a grey grid line with a label at
// each power of ten up to `hi`.

export interface LogAxisOptions {
  /** The y of `hi`, in SVG units. */
  top: number;
  /** From `hi` down to `lo`, in SVG units. */
  height: number;
  lo: number;
  hi: number;
  /** Values above `hi` are drawn at `hi` (the default lets them leave the plot). Values under `lo` always sit at `lo`. */
  capAtHi?: boolean;
}

export interface LogAxis {
  y: (v: number) => number;
  /** The grid lines from x `left` to `right`, labels right-aligned just left of `left`. */
  grid: (left: number, right: number) => string[];
}

const TICKS = [10, 100, 1_000, 10_000, 100_000];

export function logAxis(o: LogAxisOptions): LogAxis {
  const { top, height, lo, hi } = o;
  const clamp = o.capAtHi ? (v: number) => Math.min(hi, Math.max(lo, v)) : (v: number) => Math.max(lo, v);
  const y = (v: number) => top + height * (1 - (Math.log10(clamp(v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
  const grid = (left: number, right: number) =>
    TICKS.filter((t) => t <= hi).map((t) => `<line x1="${left}" x2="${right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  return { y, grid };
}
