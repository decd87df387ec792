// A tiny Prometheus registry: counters, gauges and fixed-bucket histograms with labels,
// rendered in the text exposition format 0.0.4. No dependency.
//
// Labels are declared when a metric is registered and every observation must give
// exactly those labels (a typo is an error, not a new series). Series are rendered in
// the order they were first seen, metrics in the order they were registered.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string | number>;

export class MetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricError';
  }
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values: backslash, double quote and newline escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value: integers as integers, +Inf, -Inf, NaN spelled as Prometheus does. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Series<V> {
  labels: [string, string][];
  value: V;
}

abstract class Metric<V> {
  protected readonly series = new Map<string, Series<V>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    reserved: readonly string[] = [],
  ) {
    if (!METRIC_NAME_RE.test(name)) throw new MetricError(`metric name ${JSON.stringify(name)}: expected [a-zA-Z_:][a-zA-Z0-9_:]*`);
    const seen = new Set<string>();
    for (const l of labelNames) {
      if (!LABEL_NAME_RE.test(l) || l.startsWith('__'))
        throw new MetricError(`${name}: label name ${JSON.stringify(l)}: expected [a-zA-Z_][a-zA-Z0-9_]* not starting with __`);
      if (reserved.includes(l)) throw new MetricError(`${name}: label name "${l}" is reserved`);
      if (seen.has(l)) throw new MetricError(`${name}: label name "${l}" declared twice`);
      seen.add(l);
    }
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract initial(): V;
  protected abstract lines(s: Series<V>): string[];

  protected entry(labels: Labels = {}): Series<V> {
    const keys = Object.keys(labels);
    if (keys.length !== this.labelNames.length || !this.labelNames.every((l) => Object.hasOwn(labels, l)))
      throw new MetricError(`${this.name}: expected labels {${this.labelNames.join(', ')}}, got {${keys.join(', ')}}`);
    const pairs = this.labelNames.map((l): [string, string] => [l, String(labels[l])]);
    const key = JSON.stringify(pairs.map((p) => p[1]));
    let s = this.series.get(key);
    if (!s) {
      s = { labels: pairs, value: this.initial() };
      this.series.set(key, s);
    }
    return s;
  }

  /** Forget one series (e.g. a peer that left), or all of them. */
  remove(labels?: Labels): void {
    if (labels === undefined) this.series.clear();
    else this.series.delete(JSON.stringify(this.labelNames.map((l) => String(labels[l]))));
  }

  render(): string {
    // A metric without labels has exactly one series: export it (at zero) from the start.
    if (this.labelNames.length === 0 && this.series.size === 0) this.entry({});
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.series.values()) out.push(...this.lines(s));
    return out.join('\n') + '\n';
  }
}

function labelText(pairs: readonly (readonly [string, string])[]): string {
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
}

export class Counter extends Metric<number> {
  readonly type = 'counter';
  protected initial(): number {
    return 0;
  }
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new MetricError(`${this.name}: a counter only goes up, got ${by}`);
    this.entry(labels).value += by;
  }
  /** Create the series at 0 so it is exported before the first increment. */
  init(labels?: Labels): void {
    this.entry(labels);
  }
  get(labels?: Labels): number {
    return this.entry(labels).value;
  }
  protected lines(s: Series<number>): string[] {
    return [`${this.name}${labelText(s.labels)} ${formatValue(s.value)}`];
  }
}

export class Gauge extends Metric<number> {
  readonly type = 'gauge';
  protected initial(): number {
    return 0;
  }
  set(labels: Labels | undefined, value: number): void {
    this.entry(labels).value = value;
  }
  inc(labels?: Labels, by = 1): void {
    this.entry(labels).value += by;
  }
  dec(labels?: Labels, by = 1): void {
    this.entry(labels).value -= by;
  }
  get(labels?: Labels): number {
    return this.entry(labels).value;
  }
  protected lines(s: Series<number>): string[] {
    return [`${this.name}${labelText(s.labels)} ${formatValue(s.value)}`];
  }
}

interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramValue> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames, ['le']);
    if (!buckets.length) throw new MetricError(`${name}: expected at least one bucket`);
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (!Number.isFinite(b)) throw new MetricError(`${name}: bucket bounds must be finite (+Inf is implicit), got ${b}`);
      if (i > 0 && b <= buckets[i - 1]!) throw new MetricError(`${name}: bucket bounds must increase, got ${buckets.join(', ')}`);
    }
    this.buckets = [...buckets];
  }

  protected initial(): HistogramValue {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels | undefined, value: number): void {
    if (Number.isNaN(value)) throw new MetricError(`${this.name}: cannot observe NaN`);
    const h = this.entry(labels).value;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  get(labels?: Labels): Readonly<HistogramValue> {
    return this.entry(labels).value;
  }

  protected lines(s: Series<HistogramValue>): string[] {
    const out = this.buckets.map((b, i) => `${this.name}_bucket${labelText([...s.labels, ['le', formatValue(b)]])} ${s.value.counts[i]}`);
    out.push(`${this.name}_bucket${labelText([...s.labels, ['le', '+Inf']])} ${s.value.count}`);
    out.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.value.sum)}`);
    out.push(`${this.name}_count${labelText(s.labels)} ${s.value.count}`);
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric<unknown>>();

  private add<M extends Metric<unknown>>(m: M): M {
    if (this.metrics.has(m.name)) throw new MetricError(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** The text exposition format (version 0.0.4). */
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join('');
  }
}
