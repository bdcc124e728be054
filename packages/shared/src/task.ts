import { type Static, Type } from '@sinclair/typebox';

/** The one schema of a task record; validation, the TS type and OpenAPI all come from here. */
export const TaskStatus = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('delayed'),
    Type.Literal('waiting'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('canceled'),
  ],
  { $id: 'TaskStatus', description: 'Lifecycle state of a task (waiting: a parent suspended until its children finish)' },
);
export type TaskStatus = Static<typeof TaskStatus>;
export const TASK_STATUSES: readonly TaskStatus[] = ['queued', 'delayed', 'waiting', 'running', 'succeeded', 'failed', 'canceled'];
export const FINISHED_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'canceled']);

export const TaskError = Type.Object(
  {
    code: Type.String({ description: 'Stable error code, e.g. DROVER_ERR_TASK_TIMEOUT' }),
    message: Type.String(),
    retryable: Type.Boolean(),
  },
  { $id: 'TaskError' },
);
export type TaskError = Static<typeof TaskError>;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const TaskRecord = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    queue: Type.String(),
    tenant: Type.String(),
    status: TaskStatus,
    input: Type.Unknown(),
    output: Type.Unknown(),
    error: Type.Union([TaskError, Type.Null()]),
    progress: Type.Unknown({ description: 'Last value reported by ctx.progress(): a number 0-100 or an object' }),
    priority: Type.Integer({ minimum: 0, maximum: 10 }),
    attempt: Type.Integer({ minimum: 0, description: 'Attempts started so far' }),
    maxAttempts: Type.Integer({ minimum: 1 }),
    timeoutMs: Type.Integer({ minimum: 1 }),
    parentId: Nullable(Type.String()),
    children: Type.Array(Type.String()),
    idempotencyKey: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
    traceparent: Type.Optional(Type.String({ description: 'W3C traceparent of the span that submitted the task (only when tracing is on)' })),
  },
  { $id: 'TaskRecord' },
);
export type TaskRecord = Static<typeof TaskRecord>;

/** Names of task types and queues: short, URL- and Redis-key-safe. */
export const NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';
export const NAME_RE = new RegExp(NAME_PATTERN);
/** Task ids are opaque to clients; every backend mints ids matching this. */
export const TASK_ID_PATTERN = '^[A-Za-z0-9._-]{1,128}$';
export const TASK_ID_RE = new RegExp(TASK_ID_PATTERN);

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 10;
/**
 * The default is the top priority: tasks run in arrival order, and background work yields by
 * asking for less. It is also the fast path on BullMQ (its plain wait list; any other priority
 * goes through BullMQ's prioritized set, which drains about a third slower).
 */
export const PRIORITY_DEFAULT = 10;

/** What a backend needs to enqueue a task; the orchestrator fills defaults before this. */
export interface SubmitRequest {
  type: string;
  queue: string;
  tenant: string;
  input: unknown;
  /** 0-10, higher runs first. */
  priority: number;
  delayMs: number;
  maxAttempts: number;
  /** Base of the exponential backoff between attempts (jittered). */
  backoffMs: number;
  timeoutMs: number;
  idempotencyKey?: string | null;
  parentId?: string | null;
  /** W3C traceparent of the span that submitted it (only when tracing is on). */
  traceparent?: string;
}

export interface SubmitResult {
  task: TaskRecord;
  /** false when an idempotency key matched an existing task. */
  created: boolean;
}

/** Fills the defaults a caller left out, so backends always see a complete request. */
export function completeSubmit(req: Partial<SubmitRequest> & Pick<SubmitRequest, 'type' | 'queue' | 'tenant'>): SubmitRequest {
  return {
    type: req.type,
    queue: req.queue,
    tenant: req.tenant,
    input: req.input ?? null,
    priority: req.priority ?? PRIORITY_DEFAULT,
    delayMs: req.delayMs ?? 0,
    maxAttempts: req.maxAttempts ?? 1,
    backoffMs: req.backoffMs ?? 1000,
    timeoutMs: req.timeoutMs ?? 60_000,
    idempotencyKey: req.idempotencyKey ?? null,
    parentId: req.parentId ?? null,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
  };
}
