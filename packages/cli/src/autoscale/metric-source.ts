import { scalingQuery } from '@drover/shared';

/** Where the autoscaler reads the queue's backlog. Resolves null when there is no value. */
export interface MetricSource {
  readonly describe: string;
  read(): Promise<number | null>;
}

/** An instant query to Prometheus's HTTP API, as the HPA's adapter and KEDA send it. */
export class PrometheusSource implements MetricSource {
  readonly describe: string;

  constructor(
    private readonly baseUrl: string,
    private readonly query: string,
    private readonly timeoutMs = 5000,
  ) {
    this.describe = `prometheus ${baseUrl}: ${query}`;
  }

  static forQueue(baseUrl: string, queue: string): PrometheusSource {
    return new PrometheusSource(baseUrl, scalingQuery(queue));
  }

  async read(): Promise<number | null> {
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(this.query)}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    const body = (await res.json()) as { status?: string; error?: string; data?: { resultType?: string; result?: Array<{ value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`prometheus answered ${res.status}: ${body.error ?? 'no status'}`);
    const first = body.data?.result?.[0];
    if (first === undefined) return null;
    const v = Number(first.value[1]);
    return Number.isFinite(v) ? v : null;
  }
}

/**
 * The orchestrator's /metrics text, read directly: for a compose stack without Prometheus. The
 * largest drover_queue_backlog sample of the queue (every replica exports the same figure).
 */
export class MetricsTextSource implements MetricSource {
  readonly describe: string;

  constructor(
    private readonly url: string,
    private readonly queue: string,
    private readonly timeoutMs = 5000,
  ) {
    this.describe = `${url}: drover_queue_backlog{queue="${queue}"}`;
  }

  async read(): Promise<number | null> {
    const res = await fetch(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`${this.url} answered ${res.status}`);
    return backlogFromText(await res.text(), this.queue);
  }
}

export function backlogFromText(text: string, queue: string): number | null {
  let best: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('drover_queue_backlog{')) continue;
    const close = line.indexOf('}');
    if (!line.slice(0, close).includes(`queue="${queue}"`)) continue;
    const v = Number(line.slice(close + 1).trim().split(' ')[0]);
    if (Number.isFinite(v) && (best === null || v > best)) best = v;
  }
  return best;
}
