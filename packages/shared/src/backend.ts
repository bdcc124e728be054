import type { RateWindowStore } from './rate-window.js';
import type { ScheduleStore } from './schedule-store.js';
import type { LeaderLeaseStore } from './leader-lease.js';
import type { AgentPermitStore } from './agent-permits.js';
import type { SubmitRequest, SubmitResult, TaskRecord, TaskStatus } from './task.js';

/**
 * The contract every transport implements (memory, bullmq, rabbitmq). One conformance suite
 * (packages/shared/test/conformance) runs against all of them; nothing above this interface
 * may depend on which one is in use.
 */
export interface Backend {
  readonly kind: BackendKind;

  /** Permits of the cluster-wide agent cap (DROVER_MAX_AGENTS), held by worker processes. */
  readonly agentPermits: AgentPermitStore;
  /** Other cluster-wide permit pools, by name (per-tenant running caps, per-key concurrency). */
  permits(pool: string): AgentPermitStore;
  /** Fixed-window counters for per-tenant submission rates, shared by every orchestrator replica. */
  readonly rateWindows: RateWindowStore;
  /** Schedules (POST /v1/schedules), shared by every orchestrator replica. */
  readonly schedules: ScheduleStore;
  /** The orchestrators' leader lease (leader-lease.ts): who runs the duties that must run once. */
  readonly leaderLease: LeaderLeaseStore;

  /** Enqueue one task. Idempotent on (tenant, queue, idempotencyKey). */
  submit(req: SubmitRequest): Promise<SubmitResult>;
  /** Enqueue many in as few round trips as the transport allows; results keep input order. */
  submitMany(reqs: SubmitRequest[]): Promise<SubmitResult[]>;
  get(id: string): Promise<TaskRecord | null>;
  /** Many records in as few round trips as the store allows; null for unknown ids, in order. */
  getMany(ids: readonly string[]): Promise<Array<TaskRecord | null>>;
  list(query: ListQuery): Promise<ListPage>;
  /**
   * Cancel a queued, delayed or running task. A running task's `signal` is aborted wherever it
   * runs and its outcome is recorded as `canceled` (never retried). Returns the record after the
   * call, or null when there is no such task. A finished task is returned unchanged.
   */
  cancel(id: string): Promise<TaskRecord | null>;
  /**
   * Remove a finished task (record, result, idempotency key) for good, as its result TTL would;
   * the dead-letter queue's discard. Returns false when there is no such task or it has not
   * finished (an unfinished task is left alone).
   */
  discard(id: string): Promise<boolean>;

  /** Run `handler` for tasks of `queue`, never more than `concurrency` at once in this process. */
  consume(queue: string, options: ConsumeOptions): Promise<Consumer>;

  counts(queue: string): Promise<QueueCounts>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;

  /** Subscribe to state, progress and log events of every task; returns the unsubscribe function. */
  onEvent(listener: (event: TaskEvent) => void): Promise<() => void>;

  /**
   * Publish one of a task's own log lines as a `log` event (best effort: for live followers,
   * not stored in the record).
   */
  publishLog(task: TaskRef, line: TaskLogLine): Promise<void>;

  /** Worker liveness: each worker calls heartbeat() periodically; entries expire after ttlMs. */
  heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void>;
  removeWorker(id: string): Promise<void>;
  workers(): Promise<WorkerInfo[]>;

  /** Task types that workers have declared (kept until overwritten; not tied to liveness). */
  registerTaskTypes(types: TaskTypeInfo[]): Promise<void>;
  taskTypes(): Promise<TaskTypeInfo[]>;

  /** Throws when the backing services cannot be reached (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type BackendKind = 'memory' | 'bullmq' | 'rabbitmq';

export interface ListQuery {
  tenant?: string;
  queue?: string;
  status?: TaskStatus;
  type?: string;
  /** 1-1000 */
  limit: number;
  /** Opaque, from a previous page's nextCursor. */
  cursor?: string;
}

export interface ListPage {
  items: TaskRecord[];
  /** null on the last page. A page may hold fewer than `limit` items when filters apply. */
  nextCursor: string | null;
}

export interface AttemptContext {
  /** Aborted on timeout, on cancel, and when the consumer is closed past its grace period. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** Record progress (a number 0-100 or a JSON object); emitted as a `progress` event. */
  progress(value: unknown): Promise<void>;
}

/** Returns the task's output. Throw to fail the attempt (see classifyError for retry rules). */
export type TaskHandler = (task: TaskRecord, ctx: AttemptContext) => Promise<unknown>;

export interface ConsumeOptions {
  concurrency: number;
  handler: TaskHandler;
}

export interface Consumer {
  /** Tasks this consumer is running now. */
  running(): number;
  /**
   * Stop taking tasks, wait up to graceMs for running ones, then abort them; tasks aborted this
   * way go back to the queue (they were not finished), never lost.
   */
  close(graceMs?: number): Promise<void>;
}

export interface QueueCounts {
  /** Ready to run (waiting, prioritized). */
  queued: number;
  /** Scheduled for later: delay or retry backoff. */
  delayed: number;
  /** Parents suspended until their children finish; they hold no worker slot. */
  waiting: number;
  running: number;
  succeeded: number;
  /** Failed tasks still retained (attempts exhausted or not retryable). */
  failed: number;
  /** Canceled tasks still retained. */
  canceled: number;
  paused: boolean;
  /**
   * Creation time (epoch ms) of the oldest task ready to run, or null when none is (or the
   * transport cannot tell: the rabbitmq broker does not expose its messages' ages).
   */
  oldestQueuedAt: number | null;
}

/**
 * The figure autoscalers use: tasks that need a worker slot now or are holding one. Delayed
 * tasks and suspended parents (waiting) are not in it: more workers would not run them sooner.
 */
export function backlogOf(counts: QueueCounts): number {
  return counts.queued + counts.running;
}

export interface TaskEvent {
  kind: 'state' | 'progress' | 'log';
  id: string;
  queue: string;
  /** Present on state events. */
  status?: TaskStatus;
  progress?: unknown;
  /** Present on log events. */
  log?: TaskLogLine;
  at: number;
}

/** A task as far as its events are concerned. */
export interface TaskRef {
  id: string;
  queue: string;
}

/** One line a task's handler logged (`ctx.log.info(...)`), as its followers see it. */
export interface TaskLogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
}

export interface WorkerInfo {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  taskTypes: string[];
  concurrency: number;
  busy: number;
  startedAt: string;
  lastSeenAt: string;
  draining: boolean;
}

export interface TaskTypeInfo {
  name: string;
  queue: string;
  /** JSON Schema of the input (TypeBox schemas are JSON Schema). */
  inputSchema: Record<string, unknown>;
  timeoutMs?: number;
  maxAttempts?: number;
  backoffMs?: number;
  description?: string;
}
