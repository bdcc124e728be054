import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for per-task hot paths. prom-client validates and hashes the label set
 * on every observation (its labels() children too); these keep one series object per label set,
 * so a worker that holds the series pays an array increment per task. They register in a
 * prom-client Registry and expose the same text as prom-client's own Counter and Histogram
 * (series-metrics.test.ts compares the two).
 */

type Labels<L extends string> = Record<L, string | number>;

interface MetricValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class SeriesMetric<L extends string, S> {
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, { labels: Labels<L>; series: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    registers: readonly Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series for `labels`, created on first use; hold it and observe on it directly. */
  labels(labels: Labels<L>): S {
    const key = this.labelNames.map((n) => String(labels[n])).join('\u0000');
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, series: this.create() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  protected abstract create(): S;
}

export class CounterSeries {
  value = 0;

  inc(n = 1): void {
    this.value += n;
  }
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries> {
  readonly type = 'counter';

  constructor(o: { name: string; help: string; labelNames: readonly L[]; registers: readonly Registry[] }) {
    super(o.name, o.help, o.labelNames, o.registers);
  }

  protected create(): CounterSeries {
    return new CounterSeries();
  }

  async get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: string; values: MetricValue[] }> {
    const values = [...this.series.values()].map(({ labels, series }) => ({ labels: { ...labels }, value: series.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series (handles stay valid, unlike prom-client, which drops them). */
  reset(): void {
    for (const { series } of this.series.values()) series.value = 0;
  }
}

export class HistogramSeries {
  /** Per bucket (non-cumulative); the last slot is above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(o: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: readonly Registry[] }) {
    super(o.name, o.help, o.labelNames, o.registers);
    this.bounds = [...o.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }

  /** The text exposition's form: series labels as sharedLabels, so `le` comes first, as prom-client writes it. */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, series } of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += series.counts[i]!;
        values.push({ labels: { le }, sharedLabels: { ...labels }, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: { ...labels }, value: series.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: { ...labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: { ...labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON form (Registry#getMetricsAsJSON): one labels object per value. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: string; values: MetricValue[] }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...sharedLabels, ...labels }, value, metricName }));
    return data;
  }

  reset(): void {
    for (const { series } of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
