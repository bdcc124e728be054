import { DroverValidationError } from './api-error.js';
import type { DroverEvent, ListTasksQuery, Page, SubmitTask, TaskFilter, TaskRecord, TaskTree, TaskTypeView, TenantEventFilter, WorkerView } from './api-types.js';
import { type DroverClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.js';
import { ClientErrorCodes, DroverClientError } from './client-error.js';
import { cursorPages } from './cursor-pages.js';
import { DeadLetters } from './dead-letters.js';
import { type EventStreamOptions, followEvents } from './event-stream.js';
import { HttpTransport } from './http-transport.js';
import { Queues } from './queues.js';
import { Schedules } from './schedules.js';
import { isFinished } from './task-status.js';

export interface SubmitOptions {
  /** Makes the submission exactly-once (and safe to retry after a network error). */
  idempotencyKey?: string;
  /** Wait up to this many ms for the task to finish before answering (long-poll). */
  wait?: number;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Give up after this many ms and answer the record as it is then (check `status`). Default: no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Length of each long-poll request. Default 25 s: under the server's DROVER_WAIT_MAX_MS (60 s by
   * default) and under the idle timeouts of common proxies.
   */
  pollMs?: number;
}

const DEFAULT_POLL_MS = 25_000;

/**
 * The Drover HTTP API over fetch: tasks (submit, read, long-poll, list, cancel, tree, events),
 * queues, workers, task types, schedules and dead letters. Safe to share; it holds no state
 * besides its options.
 */
export class DroverClient {
  readonly queues: Queues;
  readonly schedules: Schedules;
  readonly deadLetters: DeadLetters;
  readonly workers: { list(options?: { signal?: AbortSignal }): Promise<WorkerView[]> };
  readonly taskTypes: { list(options?: { signal?: AbortSignal }): Promise<TaskTypeView[]> };
  private readonly http: HttpTransport;
  private readonly options: ResolvedClientOptions;

  constructor(options: DroverClientOptions) {
    this.options = resolveClientOptions(options);
    this.http = new HttpTransport(this.options);
    this.queues = new Queues(this.http);
    this.schedules = new Schedules(this.http);
    this.deadLetters = new DeadLetters(this.http);
    const http = this.http;
    this.workers = {
      async list(o = {}) {
        return (await http.request<{ workers: WorkerView[] }>({ method: 'GET', path: '/v1/workers', signal: o.signal })).body.workers;
      },
    };
    this.taskTypes = {
      async list(o = {}) {
        return (await http.request<{ taskTypes: TaskTypeView[] }>({ method: 'GET', path: '/v1/task-types', signal: o.signal })).body.taskTypes;
      },
    };
  }

  /** Attempts the last request took (1 when it was not retried). */
  get lastAttempts(): number {
    return this.http.lastAttempts;
  }

  /**
   * Submits a task. With an idempotency key a retry (by this client after a network error, or by
   * you) answers the original task; with `wait` the answer waits for the task to finish, for
   * longer than the server's long-poll limit if asked (it polls again).
   */
  async submit(task: SubmitTask, options: SubmitOptions = {}): Promise<TaskRecord> {
    const key = options.idempotencyKey ?? task.idempotencyKey;
    if (options.idempotencyKey !== undefined && task.idempotencyKey !== undefined && options.idempotencyKey !== task.idempotencyKey) {
      throw new DroverClientError(ClientErrorCodes.INVALID_ARGUMENT, 'options.idempotencyKey and task.idempotencyKey differ; give one, or the same value in both.');
    }
    const started = Date.now();
    const wait = options.wait ?? 0;
    const first = Math.min(wait, DEFAULT_POLL_MS);
    // The key travels in the body, not the Idempotency-Key header: the same thing to the server,
    // and one header fewer for browsers' CORS preflight.
    const { body } = await this.http.request<TaskRecord>({
      method: 'POST',
      path: '/v1/tasks',
      query: { wait: first > 0 ? first : undefined },
      body: key === undefined ? task : { ...task, idempotencyKey: key },
      idempotent: key !== undefined,
      signal: options.signal,
      timeoutMs: this.options.timeoutMs + first,
    });
    const left = wait - (Date.now() - started);
    if (isFinished(body.status) || left <= 0) return body;
    return this.wait(body.id, { timeoutMs: left, signal: options.signal });
  }

  /** Submits many tasks in one request (all checked before any is submitted); answers them in order. */
  async submitBatch(tasks: SubmitTask[], options: { signal?: AbortSignal } = {}): Promise<TaskRecord[]> {
    const idempotent = tasks.length > 0 && tasks.every((t) => t.idempotencyKey !== undefined);
    return (await this.http.request<{ tasks: TaskRecord[] }>({ method: 'POST', path: '/v1/tasks/batch', body: { tasks }, idempotent, signal: options.signal })).body.tasks;
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskRecord> {
    return (await this.http.request<TaskRecord>({ method: 'GET', path: taskPath(id), signal: options.signal })).body;
  }

  /**
   * Waits for the task to finish (long-poll, asking again each `pollMs`) and answers its record;
   * after `timeoutMs` answers the record as it is then, so check `status`.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<TaskRecord> {
    const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
    let pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    for (;;) {
      const chunk = Math.floor(Math.max(0, Math.min(pollMs, deadline - Date.now())));
      let task: TaskRecord;
      try {
        task = (await this.http.request<TaskRecord>({ method: 'GET', path: taskPath(id), query: { wait: chunk }, signal: options.signal, timeoutMs: this.options.timeoutMs + chunk })).body;
      } catch (err) {
        // A server configured with a lower DROVER_WAIT_MAX_MS refuses the wait (naming /wait): ask for less.
        if (err instanceof DroverValidationError && err.errors.some((e) => e.path === '/wait') && pollMs > 1000) {
          pollMs = Math.floor(pollMs / 2);
          continue;
        }
        throw err;
      }
      if (isFinished(task.status) || Date.now() >= deadline) return task;
    }
  }

  /** One page of the caller's tasks, oldest first; pass nextCursor back as cursor (or use tasks()). */
  async list(query: ListTasksQuery = {}, options: { signal?: AbortSignal } = {}): Promise<Page<TaskRecord>> {
    return (await this.http.request<Page<TaskRecord>>({ method: 'GET', path: '/v1/tasks', query: { ...query }, signal: options.signal })).body;
  }

  /** Every task matching the filter, reading page after page (of `pageSize`) as the loop goes. */
  tasks(filter: TaskFilter & { pageSize?: number } = {}, options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskRecord, void, undefined> {
    const { pageSize, ...rest } = filter;
    return cursorPages((cursor) => this.list({ ...rest, limit: pageSize, cursor }, options));
  }

  /**
   * Cancels the task and its descendants. A running task may still say `running`: wait() for the
   * end. A task that already finished throws DroverConflictError (DROVER_ERR_TASK_FINISHED).
   */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskRecord> {
    return (await this.http.request<TaskRecord>({ method: 'POST', path: `${taskPath(id)}/cancel`, signal: options.signal })).body;
  }

  /** The task and every descendant, with each one's status. */
  async tree(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskTree> {
    return (await this.http.request<TaskTree>({ method: 'GET', path: `${taskPath(id)}/tree`, signal: options.signal })).body;
  }

  /**
   * Follows events as they happen: a task id (ends after the task's final state) or the tenant's
   * stream with filters (ends only when you break out or abort). Reconnects by itself with
   * Last-Event-ID after a dropped connection, and never yields an event twice.
   *
   * ```ts
   * for await (const e of client.events(task.id)) if (e.event === 'progress') show(e.data.progress);
   * ```
   */
  events(target: string | TenantEventFilter, options: EventStreamOptions = {}): AsyncGenerator<DroverEvent, void, undefined> {
    return followEvents(this.http, typeof target === 'string' ? { taskId: target } : { tenant: target }, options, this.options.retries);
  }
}

function taskPath(id: string): string {
  return `/v1/tasks/${encodeURIComponent(id)}`;
}
