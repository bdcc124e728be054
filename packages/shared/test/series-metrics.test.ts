import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from '../src/series-metrics.js';

const BUCKETS = [0.005, 0.01, 0.1, 1, 10];
const OBSERVATIONS: Array<[string, string, number]> = [
  ['echo', 'succeeded', 0.004],
  ['echo', 'succeeded', 0.005],
  ['echo', 'succeeded', 0.05],
  ['echo', 'failed', 2],
  ['scrape', 'succeeded', 11],
  ['scrape', 'succeeded', 0.1],
  ['echo', 'succeeded', 0],
];

/** The same observations through prom-client's own metrics and through the series metrics. */
function both() {
  const theirs = new Registry();
  const ours = new Registry();
  const spec = { name: 'x_seconds', help: 'help text', labelNames: ['type', 'outcome'] as const, buckets: BUCKETS };
  const h1 = new Histogram({ ...spec, registers: [theirs] });
  const c1 = new Counter({ name: 'x_total', help: 'count', labelNames: ['type', 'outcome'] as const, registers: [theirs] });
  const h2 = new SeriesHistogram({ ...spec, registers: [ours] });
  const c2 = new SeriesCounter({ name: 'x_total', help: 'count', labelNames: ['type', 'outcome'] as const, registers: [ours] });
  for (const [type, outcome, v] of OBSERVATIONS) {
    h1.observe({ type, outcome }, v);
    c1.inc({ type, outcome });
    h2.labels({ type, outcome }).observe(v);
    c2.labels({ type, outcome }).inc();
  }
  return { theirs, ours, h1, c1, h2, c2 };
}

describe('series metrics', () => {
  it('expose exactly the text prom-client writes for the same observations', async () => {
    const { theirs, ours } = both();
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('x_seconds_bucket{le="0.005",type="echo",outcome="succeeded"} 3');
    expect(text).toContain('x_seconds_count{type="scrape",outcome="succeeded"} 2');
    expect(text).toContain('x_total{type="echo",outcome="failed"} 1');
  });

  it('give the same JSON as prom-client (series metrics have no exemplars)', async () => {
    const { theirs, ours } = both();
    const noExemplars = (metrics: unknown) => JSON.parse(JSON.stringify(metrics, (k, v) => (k === 'exemplar' ? undefined : v))) as unknown;
    const json = noExemplars(await ours.getMetricsAsJSON());
    expect(json).toEqual(noExemplars(await theirs.getMetricsAsJSON()));
    expect(JSON.stringify(json)).toContain('"labels":{"type":"echo","outcome":"succeeded","le":0.005},"value":3');
  });

  it('keep series handles valid across a reset', async () => {
    const registry = new Registry();
    const h = new SeriesHistogram({ name: 'y_seconds', help: 'h', labelNames: ['type'] as const, buckets: BUCKETS, registers: [registry] });
    const series = h.labels({ type: 'echo' });
    series.observe(0.5);
    registry.resetMetrics();
    series.observe(0.002);
    expect(await registry.metrics()).toContain('y_seconds_count{type="echo"} 1');
    expect(await registry.metrics()).toContain('y_seconds_sum{type="echo"} 0.002');
    expect(h.labels({ type: 'echo' })).toBe(series);
  });
});
