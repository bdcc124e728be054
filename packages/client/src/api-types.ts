import type { ScheduledTask, TaskError, TaskLogLine, TaskRecord, TaskStatus, TaskTypeInfo, WorkerInfo } from '@drover/shared';

/*
 * Shapes of the HTTP API's requests and answers. The task record and its parts come from
 * @drover/shared's TypeBox schemas (type-only imports, erased from the bundle). The request and
 * list shapes mirror packages/orchestrator/src/api-schemas.ts, which the orchestrator does not
 * export yet; test/api-types.test.ts fails to typecheck if the two drift apart.
 */

export type { ScheduledTask, TaskError, TaskLogLine, TaskRecord, TaskStatus };

/** The body of POST /v1/tasks: one submission. */
export interface SubmitTask {
  /** Task type, e.g. echo, sleep, scrape, or one a worker registered. */
  type: string;
  /** Checked against the task type's input schema (GET /v1/task-types). */
  input?: unknown;
  /** One of DROVER_QUEUES; default: the task type's queue. */
  queue?: string;
  /** 0-10, higher runs first; default 10. */
  priority?: number;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts. */
  backoffMs?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** Makes the submission exactly-once; scoped to tenant and queue. */
  idempotencyKey?: string;
  /** Id of a task of the same tenant this one is a child of. */
  parentId?: string;
}

/** Filters of GET /v1/tasks. */
export interface TaskFilter {
  status?: TaskStatus;
  type?: string;
  queue?: string;
}

/** GET /v1/tasks: a filter plus the page to read. */
export interface ListTasksQuery extends TaskFilter {
  /** 1-1000; default 50. */
  limit?: number;
  /** nextCursor of the previous page, unchanged. */
  cursor?: string;
}

/** One page of a cursor-paginated list. A page may hold fewer than `limit` items, even none. */
export interface Page<T> {
  items: T[];
  /** null on the last page. */
  nextCursor: string | null;
}

export interface TaskTreeNode {
  id: string;
  type: string;
  queue: string;
  status: TaskStatus;
  attempt: number;
  error: TaskError | null;
  children: TaskTreeNode[];
}

/** GET /v1/tasks/:id/tree. */
export interface TaskTree {
  tree: TaskTreeNode;
  /** Nodes in the tree. */
  size: number;
  /** true when the tree had more nodes than the answer holds (10,000). */
  truncated: boolean;
}

/** One entry of GET /v1/queues (and the answer of pause/resume). */
export interface QueueInfo {
  name: string;
  queued: number;
  delayed: number;
  waiting: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
  paused: boolean;
  /** queued + running: the autoscaling signal. */
  backlog: number;
}

/** A live worker; id, hostname and pid are shown to admin tenants only. */
export type WorkerView = Omit<WorkerInfo, 'id' | 'hostname' | 'pid'> & Partial<Pick<WorkerInfo, 'id' | 'hostname' | 'pid'>>;

/** A task type a submission may name, with the JSON Schema of its input. */
export type TaskTypeView = TaskTypeInfo & {
  /** Known to every deployment (not registered by a worker). */
  builtin: boolean;
};

/** POST /v1/schedules: exactly one of `cron` and `everyMs`. */
export interface CreateSchedule {
  /** 5 fields, or 6 with seconds first. */
  cron?: string;
  /** IANA time zone of the cron expression; default UTC. */
  timezone?: string;
  /** Fixed interval (at least 1000 ms) instead of a cron expression. */
  everyMs?: number;
  /** A tick missed while every orchestrator was down: fire it once (one, the default) or skip it. */
  catchUp?: 'one' | 'none';
  task: ScheduledTask;
}

/** A schedule as the API shows it. */
export interface ScheduleView {
  id: string;
  cron: string | null;
  timezone: string;
  everyMs: number | null;
  catchUp: string;
  task: ScheduledTask;
  createdAt: string;
  lastTickAt: string | null;
  lastTaskId: string | null;
  lastError: string | null;
  missedTicks: number;
  lastCatchUpAt: string | null;
  nextTickAt: string | null;
}

/** Filters of the dead-letter routes. */
export interface DeadLetterFilter {
  queue?: string;
  type?: string;
  /** Error code of the failure, e.g. DROVER_ERR_TASK_QUARANTINED. */
  code?: string;
}

export interface ListDeadLettersQuery extends DeadLetterFilter {
  limit?: number;
  cursor?: string;
}

/** Body of POST /v1/dead-letters/retry and /discard. */
export interface DeadLetterBulk extends DeadLetterFilter {
  /** Only these dead letters (others are skipped). */
  ids?: string[];
  /** Most dead letters handled by this call (default 100, at most 1000). */
  limit?: number;
}

export interface DeadLetterBulkResult {
  count: number;
  ids: string[];
  /** retry: the new tasks, in the order of ids. */
  tasks?: TaskRecord[];
  /** Other dead letters still match the filter: call again. */
  more: boolean;
}

/** RFC 9457 problem details, the body of every error answer. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: Array<{ path: string; message: string }>;
}

/** Filters of the tenant-wide stream GET /v1/events. */
export interface TenantEventFilter {
  type?: string;
  queue?: string;
  /** State events with this status only. */
  status?: TaskStatus;
}

interface EventBase<K extends string, D> {
  event: K;
  /** The id to resume after (Last-Event-ID); absent on the snapshot a stream may open with. */
  id: string | undefined;
  data: D & { taskId: string; queue: string; at: string };
}

export type StateEvent = EventBase<'state', { status: TaskStatus }>;
export type ProgressEvent = EventBase<'progress', { progress: unknown }>;
export type LogEvent = EventBase<'log', { level: TaskLogLine['level']; msg: string }>;

/** One event of a task stream; narrow on `event`. */
export type DroverEvent = StateEvent | ProgressEvent | LogEvent;
