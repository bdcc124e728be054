import { type Static, Type } from '@sinclair/typebox';
import { NAME_PATTERN, PRIORITY_MAX, PRIORITY_MIN, TASK_ID_PATTERN, TASK_STATUSES, TaskError, TaskRecord, TaskStatus } from '@drover/shared';

/**
 * The HTTP API's request and response schemas: Fastify validates with them and
 * @fastify/swagger turns them into the OpenAPI document, so the two cannot drift apart.
 * Request objects refuse unknown fields (additionalProperties: false) so a typo such as
 * `maxAttempt` is an error rather than a silently ignored option.
 */

export const TaskRecordRef = Type.Ref(TaskRecord);

export const IDEMPOTENCY_KEY_MAX = 256;

export const SubmitItem = Type.Object(
  {
    type: Type.String({ pattern: NAME_PATTERN, description: 'Task type, e.g. echo, sleep, scrape, or one a worker registered' }),
    input: Type.Optional(Type.Unknown({ description: "Checked against the task type's input schema (GET /v1/task-types)" })),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: "One of DROVER_QUEUES; default: the task type's queue" })),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, description: '0-10, higher runs first; default 10 (give background work less)' })),
    // The ceiling is Node's largest timer (about 24.8 days), which the memory backend relies on.
    delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'Run no earlier than this many ms from now (at most about 24.8 days)' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default: the task type’s, else DROVER_TASK_MAX_ATTEMPTS' })),
    backoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Base of the exponential backoff between attempts' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'Per-attempt timeout' })),
    idempotencyKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX, description: 'Same as the Idempotency-Key header; scoped to tenant and queue' }),
    ),
    parentId: Type.Optional(Type.String({ pattern: TASK_ID_PATTERN, description: 'Id of a task of the same tenant this one is a child of' })),
  },
  { additionalProperties: false },
);
export type SubmitItem = Static<typeof SubmitItem>;

export const BatchBody = Type.Object(
  { tasks: Type.Array(SubmitItem, { minItems: 1, description: 'At most DROVER_BATCH_MAX tasks' }) },
  { additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBody>;

export const WaitQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Long-poll: answer when the task finishes or after this many ms (capped at DROVER_WAIT_MAX_MS)' }),
    ),
  },
  { additionalProperties: false },
);
export type WaitQuery = Static<typeof WaitQuery>;

export const TaskIdParams = Type.Object({ id: Type.String({ pattern: TASK_ID_PATTERN, description: 'Task id' }) });
export type TaskIdParams = Static<typeof TaskIdParams>;

export const QueueParams = Type.Object({ name: Type.String({ description: 'Queue name (one of DROVER_QUEUES)' }) });
export type QueueParams = Static<typeof QueueParams>;

export const LIST_LIMIT_DEFAULT = 50;

export const ListTasksQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)))),
    type: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: LIST_LIMIT_DEFAULT })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'nextCursor of the previous page, unchanged' })),
  },
  { additionalProperties: false },
);
export type ListTasksQuery = Static<typeof ListTasksQuery>;

export const TaskPage = Type.Object({
  items: Type.Array(TaskRecordRef),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});

const DeadLetterFilter = {
  queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
  type: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
  code: Type.Optional(Type.String({ pattern: '^DROVER_ERR_[A-Z_]{1,64}$', description: 'Error code of the failure, e.g. DROVER_ERR_TASK_QUARANTINED' })),
};

export const DeadLetterQuery = Type.Object(
  {
    ...DeadLetterFilter,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: LIST_LIMIT_DEFAULT })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'nextCursor of the previous page, unchanged' })),
  },
  { additionalProperties: false },
);

export const DeadLetterBulkBody = Type.Object(
  {
    ...DeadLetterFilter,
    ids: Type.Optional(Type.Array(Type.String({ pattern: TASK_ID_PATTERN }), { minItems: 1, maxItems: 1000, description: 'Only these dead letters (others are skipped)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most dead letters handled by this call' })),
  },
  { additionalProperties: false },
);

export const DeadLetterBulkResult = Type.Object({
  count: Type.Integer({ description: 'Dead letters retried or discarded' }),
  ids: Type.Array(Type.String(), { description: 'Their ids' }),
  tasks: Type.Optional(Type.Array(TaskRecordRef, { description: 'retry: the new tasks, in the order of ids' })),
  more: Type.Boolean({ description: 'Other dead letters still match the filter' }),
});

export const TaskList = Type.Object({ tasks: Type.Array(TaskRecordRef) });

/** GET /v1/tasks/:id/tree: every node of a task tree with its status. */
export const TaskTreeNodeSchema = Type.Recursive(
  (Node) =>
    Type.Object({
      id: Type.String(),
      type: Type.String(),
      queue: Type.String(),
      status: TaskStatus,
      attempt: Type.Integer(),
      error: Type.Union([TaskError, Type.Null()]),
      children: Type.Array(Node),
    }),
  { $id: 'TaskTreeNode' },
);

export const TaskTree = Type.Object({
  tree: Type.Ref(TaskTreeNodeSchema),
  size: Type.Integer({ description: 'Nodes in the tree' }),
  truncated: Type.Boolean({ description: 'true when the tree had more nodes than the answer holds (10,000)' }),
});

export const QueueInfo = Type.Object({
  name: Type.String(),
  queued: Type.Integer(),
  delayed: Type.Integer(),
  waiting: Type.Integer({ description: 'Parents suspended until their children finish (they hold no worker slot)' }),
  running: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer({ description: 'Failed tasks still retained (GET /v1/tasks?status=failed lists them)' }),
  canceled: Type.Integer({ description: 'Canceled tasks still retained (GET /v1/tasks?status=canceled lists them)' }),
  paused: Type.Boolean(),
  backlog: Type.Integer({ description: 'queued + running: the autoscaling signal (delayed tasks and waiting parents are not in it)' }),
});
export type QueueInfo = Static<typeof QueueInfo>;

export const QueueList = Type.Object({ queues: Type.Array(QueueInfo) });

export const WorkerInfoSchema = Type.Object({
  id: Type.Optional(Type.String({ description: 'Shown to admin tenants only (it names the host by default)' })),
  hostname: Type.Optional(Type.String({ description: 'Shown to admin tenants only' })),
  pid: Type.Optional(Type.Integer({ description: 'Shown to admin tenants only' })),
  queues: Type.Array(Type.String()),
  taskTypes: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  busy: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  draining: Type.Boolean(),
});

export const WorkerList = Type.Object({ workers: Type.Array(WorkerInfoSchema) });

export const TaskTypeSchema = Type.Object({
  name: Type.String(),
  queue: Type.String(),
  inputSchema: Type.Object({}, { additionalProperties: true, description: 'JSON Schema of the input' }),
  timeoutMs: Type.Optional(Type.Integer()),
  maxAttempts: Type.Optional(Type.Integer()),
  backoffMs: Type.Optional(Type.Integer()),
  description: Type.Optional(Type.String()),
  builtin: Type.Boolean({ description: 'Known to every deployment (not registered by a worker)' }),
});

export const TaskTypeList = Type.Object({ taskTypes: Type.Array(TaskTypeSchema) });

/** RFC 9457 problem details, the body of every error answer (media type application/problem+json). */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI naming the problem type: urn:drover:error:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong and what to do about it' }),
    code: Type.String({ description: 'Stable error code (docs/errors.md); branch on this, never on detail' }),
    instance: Type.Optional(Type.String({ description: 'Path of the request' })),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String({ description: 'JSON pointer' }), message: Type.String() }))),
  },
  { $id: 'Problem' },
);
export const ProblemRef = Type.Ref(Problem);

export const Health = Type.Object({ status: Type.String() });
