import { Counter, Gauge, type Registry } from 'prom-client';
import { type Backend, type QueueCounts, backlogOf } from './backend.js';
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
  const gauge = (name: string, help: string, labelNames: readonly string[] = ['queue']) =>
    metricOnce(registry, name, () => new Gauge({ name, help, labelNames, registers: [registry] }));
  return {
    depth: gauge('drover_queue_depth', 'Tasks per queue and state (queued, delayed, running, succeeded, failed, canceled; finished ones while retained)', ['queue', 'state']),
    backlog: gauge(
      'drover_queue_backlog',
      'Runnable backlog: tasks ready to run (waiting, prioritized) plus running ones, the autoscaling signal. Running tasks count, so a pool is not scaled down mid-task; delayed tasks (delay, retry backoff) and waiting ones (parents suspended on their children, tasks held back by a tenant or key cap) do not, and the figure never exceeds DROVER_MAX_AGENTS (tasks past the cluster-wide agent cap wait however many workers there are), since more workers would not run them sooner.',
    ),
    agentsUsed: gauge('drover_agents_used', 'Agent permits held across the cluster: tasks running (or about to) under DROVER_MAX_AGENTS, all queues and worker processes', []),
    agentsLimit: gauge('drover_agents_limit', 'DROVER_MAX_AGENTS: most tasks running at once across the cluster', []),
    oldestAge: gauge('drover_queue_oldest_age_seconds', 'Age of the oldest task ready to run (0 when none, or when the transport cannot tell: rabbitmq)'),
    workers: gauge('drover_queue_workers', 'Live workers taking tasks from the queue (draining ones excluded); a worker serving several queues counts in each'),
    capacity: gauge('drover_queue_capacity', 'Task slots of the live workers taking tasks from the queue (the sum of their concurrency caps)'),
    busySlots: gauge('drover_queue_busy_slots', 'Task slots in use in the live workers taking tasks from the queue (a worker serving several queues counts its busy slots in each)'),
    paused: gauge('drover_queue_paused', '1 when the queue is paused'),
  };
}
export type QueueMetrics = ReturnType<typeof createQueueMetrics>;

const STATES = ['queued', 'delayed', 'waiting', 'running', 'succeeded', 'failed', 'canceled'] as const;

/** One queue's figures, as the gauges export them. */
export interface QueueSignal {
  counts: QueueCounts;
  workers: number;
  capacity: number;
  busy: number;
}

/**
 * Reads every queue's figures: one counts() call per queue (O(1) backend calls each) and one
 * workers() call for all of them.
 */
export async function readQueueSignals(backend: Backend, queues: readonly string[]): Promise<Map<string, QueueSignal>> {
  const [counts, workers] = await Promise.all([Promise.all(queues.map((q) => backend.counts(q))), backend.workers()]);
  const out = new Map<string, QueueSignal>();
  for (const [i, q] of queues.entries()) out.set(q, { counts: counts[i]!, workers: 0, capacity: 0, busy: 0 });
  for (const w of workers) {
    if (w.draining) continue;
    for (const q of w.queues) {
      const s = out.get(q);
      if (!s) continue;
      s.workers++;
      s.capacity += w.concurrency;
      s.busy += w.busy;
    }
  }
  return out;
}

/** Sets the queue gauges from figures read by readQueueSignals(). */
export function setQueueMetrics(metrics: QueueMetrics, signals: ReadonlyMap<string, QueueSignal>, now = Date.now(), maxAgents = Number.POSITIVE_INFINITY): void {
  for (const [queue, s] of signals) {
    const c = s.counts;
    for (const state of STATES) metrics.depth.set({ queue, state }, c[state]);
    metrics.backlog.set({ queue }, Math.min(backlogOf(c), maxAgents));
    metrics.oldestAge.set({ queue }, c.oldestQueuedAt === null ? 0 : Math.max(0, (now - c.oldestQueuedAt) / 1000));
    metrics.workers.set({ queue }, s.workers);
    metrics.capacity.set({ queue }, s.capacity);
    metrics.busySlots.set({ queue }, s.busy);
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

/**
 * The scaling query for one queue: what the prometheus-adapter rule behind the HPA, the KEDA
 * trigger and `drover autoscale --prometheus` ask Prometheus. Every orchestrator replica
 * exports the same backlog, hence max, not sum.
 */
export function scalingQuery(queue: string): string {
  return `max by (queue) (drover_queue_backlog{queue="${queue}"})`;
}
