// CloudWatch embedded metric format (EMF): one JSON object per log line that CloudWatch
// Logs turns into metrics. Per the specification, the root holds
//   _aws: { Timestamp: <epoch ms>, CloudWatchMetrics: [ MetricDirective ] }
//   MetricDirective: { Namespace, Dimensions: [DimensionSet], Metrics: [MetricDefinition] }
//   DimensionSet: dimension keys (at most 30; may be empty: the metric without dimensions)
//   MetricDefinition: { Name, Unit? }
// and, as root members, every dimension key's value (a string) and every metric's value
// (a number). At most 100 metrics per directive.
export type EmfUnit = 'Count' | 'Seconds' | 'Milliseconds' | 'None';

export interface EmfDocument {
  namespace: string;
  timestamp: number;
  /** Dimension name → value; every key appears in the one dimension set. */
  dimensions: Readonly<Record<string, string>>;
  metrics: readonly { name: string; unit: EmfUnit; value: number }[];
}

const MAX_METRICS = 100;
const MAX_DIMENSIONS = 30;

/** One EMF line. Throws on what CloudWatch would reject (a bug in the caller, not input). */
export function emfLine(d: EmfDocument): string {
  const dims = Object.keys(d.dimensions);
  if (!d.namespace || d.namespace.length > 255) throw new RangeError(`EMF namespace: expected 1-255 characters, got ${d.namespace.length}`);
  if (dims.length > MAX_DIMENSIONS) throw new RangeError(`EMF dimensions: at most ${MAX_DIMENSIONS}, got ${dims.length}`);
  if (!d.metrics.length || d.metrics.length > MAX_METRICS) throw new RangeError(`EMF metrics: expected 1-${MAX_METRICS}, got ${d.metrics.length}`);
  if (!Number.isSafeInteger(d.timestamp) || d.timestamp < 0) throw new RangeError(`EMF timestamp: expected epoch milliseconds, got ${d.timestamp}`);
  const values: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(d.dimensions)) values[k] = v;
  for (const m of d.metrics) {
    if (!Number.isFinite(m.value)) throw new RangeError(`EMF metric ${m.name}: expected a finite number, got ${m.value}`);
    if (Object.hasOwn(values, m.name) || m.name === '_aws') throw new RangeError(`EMF metric ${m.name}: the name is used twice`);
    values[m.name] = m.value;
  }
  return JSON.stringify({
    _aws: {
      Timestamp: d.timestamp,
      CloudWatchMetrics: [{ Namespace: d.namespace, Dimensions: [dims], Metrics: d.metrics.map((m) => ({ Name: m.name, Unit: m.unit })) }],
    },
    ...values,
  });
}
