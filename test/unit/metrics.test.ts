import { describe, expect, it } from 'vitest';
import { createAgentMetrics, PROBE_LATENCY_BUCKETS } from '../../src/telemetry/metrics-agent.js';
import { escapeHelp, escapeLabelValue, formatValue, MetricError, Registry } from '../../src/telemetry/metrics.js';

describe('Prometheus text exposition', () => {
  it('renders a counter with labels, HELP and TYPE lines', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things counted.', ['a', 'b']);
    c.inc({ a: '1', b: 'two' });
    c.inc({ a: '1', b: 'two' }, 2);
    c.inc({ b: 'y', a: 2 });
    expect(r.render()).toBe(
      ['# HELP x_total Things counted.', '# TYPE x_total counter', 'x_total{a="1",b="two"} 3', 'x_total{a="2",b="y"} 1', ''].join('\n'),
    );
  });

  it('exports an unlabelled metric at zero before its first update', () => {
    const r = new Registry();
    r.gauge('g', 'A gauge.');
    r.counter('c_total', 'A counter.');
    expect(r.render()).toBe('# HELP g A gauge.\n# TYPE g gauge\ng 0\n# HELP c_total A counter.\n# TYPE c_total counter\nc_total 0\n');
  });

  it('a labelled metric with no series has only HELP and TYPE', () => {
    const r = new Registry();
    r.counter('c_total', 'A counter.', ['x']);
    expect(r.render()).toBe('# HELP c_total A counter.\n# TYPE c_total counter\n');
  });

  it('gauges go up, down and to special values', () => {
    const r = new Registry();
    const g = r.gauge('g', 'G.', ['k']);
    g.set({ k: 'a' }, 5);
    g.inc({ k: 'a' });
    g.dec({ k: 'a' }, 3);
    g.set({ k: 'inf' }, Infinity);
    g.set({ k: 'ninf' }, -Infinity);
    g.set({ k: 'nan' }, NaN);
    g.set({ k: 'frac' }, 0.25);
    expect(r.render()).toBe(
      ['# HELP g G.', '# TYPE g gauge', 'g{k="a"} 3', 'g{k="inf"} +Inf', 'g{k="ninf"} -Inf', 'g{k="nan"} NaN', 'g{k="frac"} 0.25', ''].join('\n'),
    );
  });

  it('renders histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram('lat_seconds', 'Latency.', ['t'], [0.1, 0.5, 1]);
    h.observe({ t: 'a' }, 0.05);
    h.observe({ t: 'a' }, 0.1);
    h.observe({ t: 'a' }, 0.7);
    h.observe({ t: 'a' }, 3);
    expect(r.render()).toBe(
      [
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{t="a",le="0.1"} 2',
        'lat_seconds_bucket{t="a",le="0.5"} 2',
        'lat_seconds_bucket{t="a",le="1"} 3',
        'lat_seconds_bucket{t="a",le="+Inf"} 4',
        'lat_seconds_sum{t="a"} 3.85',
        'lat_seconds_count{t="a"} 4',
        '',
      ].join('\n'),
    );
    expect(h.get({ t: 'a' })).toEqual({ counts: [2, 2, 3], sum: 3.85, count: 4 });
  });

  it('an unlabelled histogram has only le on its buckets', () => {
    const r = new Registry();
    r.histogram('h', 'H.', [], [1]).observe(undefined, 2);
    expect(r.render()).toBe('# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 1\nh_sum 2\nh_count 1\n');
  });

  it('escapes label values and HELP text', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('a\\b"c\nd')).toBe('a\\\\b"c\\nd');
    const r = new Registry();
    r.counter('e_total', 'Help with \\ and\nnewline "quoted".', ['v']).inc({ v: 'x"y\\z\nw' });
    expect(r.render()).toBe(
      '# HELP e_total Help with \\\\ and\\nnewline "quoted".\n# TYPE e_total counter\ne_total{v="x\\"y\\\\z\\nw"} 1\n',
    );
  });

  it('formats values as Prometheus does', () => {
    expect([1, 0, -2, 1.5, 1e21, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['1', '0', '-2', '1.5', '1e+21', '+Inf', '-Inf', 'NaN']);
  });

  it('forgets a series on remove', () => {
    const r = new Registry();
    const c = r.counter('c_total', 'C.', ['p']);
    c.inc({ p: 'a' });
    c.inc({ p: 'b' });
    c.remove({ p: 'a' });
    expect(r.render()).toBe('# HELP c_total C.\n# TYPE c_total counter\nc_total{p="b"} 1\n');
    c.remove();
    expect(r.render()).toBe('# HELP c_total C.\n# TYPE c_total counter\n');
  });

  it.each([
    ['a bad metric name', (r: Registry) => r.counter('1bad', 'x')],
    ['a bad label name', (r: Registry) => r.counter('ok', 'x', ['a-b'])],
    ['a reserved label name', (r: Registry) => r.counter('ok', 'x', ['__x'])],
    ['le on a histogram', (r: Registry) => r.histogram('ok', 'x', ['le'], [1])],
    ['a duplicate label', (r: Registry) => r.counter('ok', 'x', ['a', 'a'])],
    ['unsorted buckets', (r: Registry) => r.histogram('ok', 'x', [], [1, 1])],
    ['no buckets', (r: Registry) => r.histogram('ok', 'x', [], [])],
    ['an infinite bucket', (r: Registry) => r.histogram('ok', 'x', [], [1, Infinity])],
    ['a duplicate metric', (r: Registry) => (r.counter('ok', 'x'), r.gauge('ok', 'y'))],
    ['a missing label', (r: Registry) => r.counter('ok', 'x', ['a', 'b']).inc({ a: '1' })],
    ['an extra label', (r: Registry) => r.counter('ok', 'x', ['a']).inc({ a: '1', b: '2' })],
    ['a counter going down', (r: Registry) => r.counter('ok', 'x').inc(undefined, -1)],
    ['observing NaN', (r: Registry) => r.histogram('ok', 'x', [], [1]).observe(undefined, NaN)],
  ])('refuses %s', (_name, f) => {
    expect(() => f(new Registry())).toThrow(MetricError);
  });
});

describe('agent metrics', () => {
  it('registers the documented names, types and labels', () => {
    const m = createAgentMetrics();
    m.probeLatency.observe({ target: 'tcp:1.1.1.1:443', vantage: 'self' }, 0.012);
    m.probeFailures.inc({ target: 'icmp:8.8.8.8', vantage: 'peer:i-2' });
    m.verdictTransitions.inc({ node: 'i-1', from: 'unknown', to: 'healthy' });
    m.heartbeatLost.inc({ peer: 'i-2' });
    m.conntrackEntries.set(undefined, 1234);
    m.conntrackMax.set(undefined, 262144);
    m.leaseHolder.set(undefined, 1);
    const text = m.registry.render();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => `${x[1]} ${x[2]}`);
    expect(types).toEqual([
      'natkeeper_probe_latency_seconds histogram',
      'natkeeper_probe_failures_total counter',
      'natkeeper_verdict_transitions_total counter',
      'natkeeper_heartbeat_lost_total counter',
      'natkeeper_conntrack_entries gauge',
      'natkeeper_conntrack_max gauge',
      'natkeeper_lease_holder gauge',
    ]);
    expect(text).toContain('natkeeper_probe_latency_seconds_bucket{target="tcp:1.1.1.1:443",vantage="self",le="0.025"} 1\n');
    expect(text).toContain('natkeeper_probe_latency_seconds_bucket{target="tcp:1.1.1.1:443",vantage="self",le="0.01"} 0\n');
    expect(text).toContain('natkeeper_probe_failures_total{target="icmp:8.8.8.8",vantage="peer:i-2"} 1\n');
    expect(text).toContain('natkeeper_verdict_transitions_total{node="i-1",from="unknown",to="healthy"} 1\n');
    expect(text).toContain('natkeeper_heartbeat_lost_total{peer="i-2"} 1\n');
    expect(text).toContain('natkeeper_conntrack_entries 1234\n');
    expect(text).toContain('natkeeper_lease_holder 1\n');
    // Every line is a comment or a sample: name{labels} value.
    for (const line of text.trimEnd().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? \S+)$/);
  });

  it('has buckets that increase and cover probe timeouts', () => {
    expect([...PROBE_LATENCY_BUCKETS].sort((a, b) => a - b)).toEqual([...PROBE_LATENCY_BUCKETS]);
    expect(PROBE_LATENCY_BUCKETS.at(-1)).toBeGreaterThanOrEqual(1);
  });
});
