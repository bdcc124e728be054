import { Counter, Gauge, type Registry } from 'prom-client';
import { type Backend, backlogOf } from './backend.js';
import { SeriesCounter, SeriesHistogram } from './series-metrics.js';

/**
 * Metrics are created once per registry: embedded mode runs the orchestrator and a worker in
 * one process on one registry, and both ask for the task metrics.
 */
export function metricOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/**
 * Metric definitions both services share (prefix drover_). Each process makes its own
 * registry; nothing is registered globally, so tests can build as many as they like.
 */
export function createQueueMetrics(registry: Registry) {
  return {
    depth: metricOnce(registry, 'drover_queue_depth', () => new Gauge({
      name: 'drover_queue_depth',
      help: 'Tasks per queue and state (queued, delayed, running, succeeded, failed)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    })),
    backlog: metricOnce(registry, 'drover_queue_backlog', () => new Gauge({
      name: 'drover_queue_backlog',
      help: 'Tasks that need or hold a worker slot (queued + running): the autoscaling signal',
      labelNames: ['queue'] as const,
      registers: [registry],
    })),
    paused: metricOnce(registry, 'drover_queue_paused', () => new Gauge({
      name: 'drover_queue_paused',
      help: '1 when the queue is paused',
      labelNames: ['queue'] as const,
      registers: [registry],
    })),
  };
}
export type QueueMetrics = ReturnType<typeof createQueueMetrics>;

/** Refreshes the queue gauges from the backend (called on each /metrics scrape). */
export async function collectQueueMetrics(metrics: QueueMetrics, backend: Backend, queues: readonly string[]): Promise<void> {
  const all = await Promise.all(queues.map(async (q) => [q, await backend.counts(q)] as const));
  for (const [queue, c] of all) {
    for (const state of ['queued', 'delayed', 'running', 'succeeded', 'failed'] as const) {
      metrics.depth.set({ queue, state }, c[state]);
    }
    metrics.backlog.set({ queue }, backlogOf(c));
    metrics.paused.set({ queue }, c.paused ? 1 : 0);
  }
}

export function createTaskMetrics(registry: Registry) {
  return {
    submitted: metricOnce(registry, 'drover_tasks_submitted_total', () => new Counter({
      name: 'drover_tasks_submitted_total',
      help: 'Tasks accepted by the API, by type and queue',
      labelNames: ['type', 'queue'] as const,
      registers: [registry],
    })),
    // Observed once or more per task by workers: series metrics, no label hashing per task.
    finished: metricOnce(registry, 'drover_tasks_total', () => new SeriesCounter({
      name: 'drover_tasks_total',
      help: 'Task attempts finished by a worker, by type and outcome (succeeded, failed, retried, canceled, timeout)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    })),
    waitSeconds: metricOnce(registry, 'drover_task_wait_seconds', () => new SeriesHistogram({
      name: 'drover_task_wait_seconds',
      help: 'Time from creation to the start of an attempt',
      labelNames: ['type'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    })),
    runSeconds: metricOnce(registry, 'drover_task_run_seconds', () => new SeriesHistogram({
      name: 'drover_task_run_seconds',
      help: 'Time an attempt ran',
      labelNames: ['type', 'outcome'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    })),
  };
}
export type TaskMetrics = ReturnType<typeof createTaskMetrics>;

/** `busy` is read when metrics are scraped, so running a task costs no gauge update. */
export function createWorkerMetrics(registry: Registry, busy: () => number = () => 0) {
  return {
    busy: metricOnce(
      registry,
      'drover_worker_busy_slots',
      () =>
        new Gauge({
          name: 'drover_worker_busy_slots',
          help: 'Task slots in use in this worker',
          registers: [registry],
          collect() {
            this.set(busy());
          },
        }),
    ),
    capacity: metricOnce(registry, 'drover_worker_capacity', () => new Gauge({ name: 'drover_worker_capacity', help: 'Task slots this worker offers (its concurrency cap)', registers: [registry] })),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

export { Registry } from 'prom-client';
