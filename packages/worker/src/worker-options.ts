import type { GraphStore } from '@drover/graph';
import type { MemoryStore } from '@drover/memory';
import type { Backend, Logger, Registry, Tracer } from '@drover/shared';
import type { TaskDefinition, WorkerServices } from './task-definition.js';

export interface WorkerOptions {
  backend: Backend;
  tasks: TaskDefinition<any>[];
  /** Most tasks running at once in this process (DROVER_WORKER_CONCURRENCY, default 3). */
  concurrency?: number;
  /** Queues to take tasks from; default: every queue the tasks declare. */
  queues?: string[];
  logger?: Logger;
  /** prom-client registry for worker metrics; a fresh one when absent. */
  registry?: Registry;
  heartbeatMs?: number;
  /** How long drain() lets running tasks finish before aborting them (they go back to the queue). */
  shutdownGraceMs?: number;
  /** Stable id for /v1/workers; default hostname-pid-random. */
  id?: string;
  services?: WorkerServices;
  /**
   * Traces each run (a span `drover.run <type>`, child of the span that submitted the task) and
   * hands its context to the children it spawns and to the scraper. Unset: no tracing, no cost.
   */
  tracer?: Tracer;
  /** Vector memory behind ctx.memory (createMemoryStore in @drover/memory); default: an in-process store made on first use. */
  memory?: MemoryStore;
  /** The task graph behind ctx.graph, where task trees are recorded; default: an in-process store made on first use. */
  graph?: GraphStore;
  /**
   * The cluster-wide agent cap (DROVER_MAX_AGENTS): a task takes one of the cluster's permits
   * (backend.agentPermits) before its handler runs. Off when absent.
   */
  maxAgents?: number;
  /** Lease of this process's permits; a crashed worker's come back after it. Default 30 000. */
  agentLeaseMs?: number;
  /** Tasks of a tenant running at once across the cluster (DROVER_TENANT_MAX_RUNNING; `*` for the others). */
  tenantMaxRunning?: Readonly<Record<string, number>>;
}
