import type { Executor } from './executor.js';
import { type Decision, HpaAlgorithm, type HpaOptions } from './hpa-algorithm.js';
import type { MetricSource } from './metric-source.js';

export interface AutoscalerOptions {
  hpa: HpaOptions;
  source: MetricSource;
  executor: Executor;
  /** How often to read the metric and decide (the HPA's sync period, 15 s). */
  syncPeriodMs: number;
  /** After this many failed reads in a row, scale to fallbackReplicas (KEDA's fallback); 0: never. */
  failureThreshold: number;
  fallbackReplicas: number | undefined;
  log?: (event: AutoscaleEvent) => void;
  clock?: () => number;
}

export interface AutoscaleEvent {
  at: number;
  backlog: number | null;
  current: number;
  replicas: number;
  reason: string;
}

/**
 * The loop `drover autoscale` runs: read the backlog, let the HPA algorithm decide, apply the
 * decision through the executor. A read that fails or returns nothing changes nothing (as the
 * HPA does when its metric is missing), until failureThreshold reads in a row have failed.
 */
export class Autoscaler {
  private readonly algorithm: HpaAlgorithm;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  readonly timeline: AutoscaleEvent[] = [];

  constructor(private readonly options: AutoscalerOptions) {
    this.algorithm = new HpaAlgorithm(options.hpa);
  }

  start(): void {
    const tick = async () => {
      this.running = this.sync().then(
        () => undefined,
        (err: unknown) => this.record(null, -1, -1, `error: ${err instanceof Error ? err.message : String(err)}`),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.options.syncPeriodMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.options.executor.close?.();
  }

  /** One sync period's work. */
  async sync(): Promise<Decision | undefined> {
    const now = (this.options.clock ?? Date.now)();
    const current = await this.options.executor.current();
    let backlog: number | null;
    try {
      backlog = await this.options.source.read();
    } catch (err) {
      backlog = null;
      this.failures++;
      const reason = `metric unavailable (${err instanceof Error ? err.message : String(err)})`;
      return this.onMissing(current, reason);
    }
    if (backlog === null) {
      this.failures++;
      return this.onMissing(current, 'metric has no value');
    }
    this.failures = 0;
    const decision = this.algorithm.decide(now, current, backlog);
    if (decision.replicas !== current) await this.options.executor.scale(decision.replicas);
    this.record(backlog, current, decision.replicas, decision.reason);
    return decision;
  }

  private async onMissing(current: number, reason: string): Promise<undefined> {
    const { failureThreshold, fallbackReplicas } = this.options;
    if (fallbackReplicas !== undefined && failureThreshold > 0 && this.failures >= failureThreshold && current !== fallbackReplicas) {
      await this.options.executor.scale(fallbackReplicas);
      this.record(null, current, fallbackReplicas, `${reason}; ${this.failures} failures: fallback`);
    } else {
      this.record(null, current, current, `${reason}; keeping ${current}`);
    }
    return undefined;
  }

  private record(backlog: number | null, current: number, replicas: number, reason: string): void {
    const event = { at: (this.options.clock ?? Date.now)(), backlog, current, replicas, reason };
    this.timeline.push(event);
    if (this.timeline.length > 10_000) this.timeline.shift();
    this.options.log?.(event);
  }
}
