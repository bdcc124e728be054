import { type Backend, type QueueSignal, readQueueSignals } from '@drover/shared';

/**
 * The queue figures /metrics exports, read from the backend at most once per `maxAgeMs`:
 * Prometheus, the HPA adapter, KEDA and `drover autoscale` may all scrape every replica, and
 * concurrent scrapes share one read in flight. A failed read is not cached.
 */
export class QueueSignalCache {
  private value: { at: number; signals: Map<string, QueueSignal> } | undefined;
  private inFlight: Promise<Map<string, QueueSignal>> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly queues: readonly string[],
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  read(): Promise<Map<string, QueueSignal>> {
    const v = this.value;
    if (v && this.clock() - v.at < this.maxAgeMs) return Promise.resolve(v.signals);
    this.inFlight ??= readQueueSignals(this.backend, this.queues)
      .then((signals) => {
        this.value = { at: this.clock(), signals };
        return signals;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
