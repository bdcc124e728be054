import { FINISHED_STATUSES, type SubmitRequest, cancelTree, isDroverError, readTree } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import {
  BatchBody,
  IDEMPOTENCY_KEY_MAX,
  LIST_LIMIT_DEFAULT,
  ListTasksQuery,
  ProblemRef,
  SubmitItem,
  TaskIdParams,
  TaskList,
  TaskPage,
  TaskRecordRef,
  TaskTree,
  WaitQuery,
} from '../api-schemas.js';
import { type ProblemError, backendFailure, kindOfCode, problemError } from '../problem.js';
import { submitAdmitted, tracedSubmit } from '../admitted-submit.js';
import { checkQueueFilter, ownTask, waitForFinish } from './task-access.js';

const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: `Makes the submit exactly-once (1-${IDEMPOTENCY_KEY_MAX} characters)` })),
});
const ERRORS = { '4xx': ProblemRef, '5xx': ProblemRef };

/** Submit, read, wait for, list and cancel tasks. */
export const taskRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.drover;
  const { backend, admission, submissions, waiter, taskMetrics, tenantRate } = ctx;
  const waitMax = ctx.config.http.waitMaxMs;
  const batchMax = ctx.config.http.batchMax;

  app.post(
    '/tasks',
    {
      schema: {
        summary: 'Submit a task',
        description:
          'Answers 201 with the new task, or 200 with header Idempotent-Replayed: true when the Idempotency-Key was already used for the same request. With ?wait=<ms> the answer waits until the task finishes (or the wait runs out).',
        tags: ['tasks'],
        body: SubmitItem,
        querystring: WaitQuery,
        headers: IdempotencyHeader,
        response: { 200: TaskRecordRef, 201: TaskRecordRef, ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const wait = waitOf(request.query.wait, waitMax);
      const key = idempotencyKey(request, body.idempotencyKey);
      const req = await submissions.build(body, request.tenant, key, '');
      if (req.parentId) await ownTask(backend, req.parentId, request.tenant, 'parent task');
      const { task, created } = await submitAdmitted(ctx, req, request.headers);
      if (created) {
        reply.code(201);
      } else {
        reply.header('idempotent-replayed', 'true');
      }
      if (wait === 0 || FINISHED_STATUSES.has(task.status)) return task;
      return waitForFinish(backend, waiter, task.id, request.tenant, wait, reply);
    },
  );

  app.post(
    '/tasks/batch',
    {
      schema: {
        summary: 'Submit many tasks in one request',
        description: `Every task is checked before any is submitted; an error names the task's index (tasks[3].input). At most DROVER_BATCH_MAX tasks. Idempotency keys go on each task (idempotencyKey), not in a header.`,
        tags: ['tasks'],
        body: BatchBody,
        response: { 200: TaskList, 201: TaskList, ...ERRORS },
      },
      // Refuse oversized batches before validating thousands of items.
      preValidation: async (request) => {
        const tasks = (request.body as { tasks?: unknown } | null | undefined)?.tasks;
        if (Array.isArray(tasks) && tasks.length > batchMax) {
          throw problemError(
            'BATCH_TOO_LARGE',
            `The batch holds ${tasks.length} tasks; the limit is ${batchMax} (DROVER_BATCH_MAX). Split it into smaller batches.`,
            [{ path: '/tasks', message: `must have at most ${batchMax} items` }],
          );
        }
      },
    },
    async (request, reply) => {
      if (request.headers['idempotency-key'] !== undefined) {
        throw problemError('VALIDATION', 'The Idempotency-Key header is not accepted on /v1/tasks/batch; set idempotencyKey on each task instead.', [
          { path: '/headers/idempotency-key', message: 'is not accepted here' },
        ]);
      }
      const items = request.body.tasks;
      const reqs: SubmitRequest[] = new Array(items.length);
      const problems: ProblemError[] = [];
      let firstFailure: unknown;
      let failures = 0;
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        try {
          reqs[i] = await submissions.build(item, request.tenant, item.idempotencyKey, `/tasks/${i}`);
          if (item.parentId) await ownTask(backend, item.parentId, request.tenant, `parent task (tasks[${i}].parentId)`);
        } catch (err) {
          if (!isDroverError(err) || err.status >= 500) throw err;
          failures++;
          firstFailure ??= err;
          const listed = (err.details?.errors as ProblemError[] | undefined) ?? [{ path: `/tasks/${i}`, message: err.message }];
          if (problems.length < 20) problems.push(...listed.slice(0, 20 - problems.length));
        }
      }
      if (isDroverError(firstFailure)) {
        const more = failures > 1 ? ` (${failures - 1} more task${failures > 2 ? 's have' : ' has'} problems, see errors)` : '';
        throw problemError(kindOfCode(firstFailure.code), `${firstFailure.message}${more}`, problems);
      }
      const perQueue = new Map<string, number>();
      for (const r of reqs) perQueue.set(r.queue, (perQueue.get(r.queue) ?? 0) + 1);
      for (const [queue, n] of perQueue) admission.check(queue, n);
      const limited = tenantRate.take(request.tenant, reqs.length);
      if (limited) await limited;

      const submitMany = () => backend.submitMany(reqs).catch(backendFailure);
      const results = await (ctx.tracer ? tracedSubmit(ctx, reqs, request.headers, submitMany) : submitMany());
      let createdAny = false;
      for (const { task, created } of results) {
        if (!created) continue;
        createdAny = true;
        admission.admitted(task.queue);
        taskMetrics.submitted.inc({ type: task.type, queue: task.queue });
      }
      if (createdAny) reply.code(201);
      else reply.header('idempotent-replayed', 'true');
      return { tasks: results.map((r) => r.task) };
    },
  );

  app.get(
    '/tasks/:id',
    {
      schema: {
        summary: 'Get a task',
        description: 'With ?wait=<ms> (capped at DROVER_WAIT_MAX_MS) the answer waits until the task finishes; when the wait runs out it is the current record.',
        tags: ['tasks'],
        params: TaskIdParams,
        querystring: WaitQuery,
        response: { 200: TaskRecordRef, ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request, reply) => {
      const wait = waitOf(request.query.wait, waitMax);
      if (wait === 0) return ownTask(backend, request.params.id, request.tenant);
      return waitForFinish(backend, waiter, request.params.id, request.tenant, wait, reply);
    },
  );

  app.get(
    '/tasks',
    {
      schema: {
        summary: "List the caller's tasks",
        description: 'Oldest first. Pass nextCursor back as cursor for the next page; it is null on the last page. A page may hold fewer than limit items.',
        tags: ['tasks'],
        querystring: ListTasksQuery,
        response: { 200: TaskPage, ...ERRORS },
      },
    },
    async (request) => {
      const q = request.query;
      checkQueueFilter(ctx, q.queue);
      return backend
        .list({ tenant: request.tenant, status: q.status, type: q.type, queue: q.queue, limit: q.limit ?? LIST_LIMIT_DEFAULT, cursor: q.cursor })
        .catch(backendFailure);
    },
  );

  app.get(
    '/tasks/:id/tree',
    {
      schema: {
        summary: "A task's tree",
        description: 'The task and every descendant (children it spawned, theirs, and so on) with each node\'s status, breadth first; up to 10,000 nodes.',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskTree, ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request) => {
      const root = await ownTask(backend, request.params.id, request.tenant);
      return readTree(backend, root).catch(backendFailure);
    },
  );

  app.post(
    '/tasks/:id/cancel',
    {
      schema: {
        summary: 'Cancel a task',
        description:
          'A queued, delayed or waiting task is canceled at once; a running one has its signal aborted and finishes as canceled shortly after (the answer may still say running). The cancel cascades to every descendant (children the task spawned, theirs, and so on). A finished task answers 409.',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskRecordRef, ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request) => {
      const id = request.params.id;
      const before = await ownTask(backend, id, request.tenant);
      if (FINISHED_STATUSES.has(before.status)) throw finished(id, before.status);
      const after = await cancelTree(backend, id).catch(backendFailure);
      if (after === null) return ownTask(backend, id, request.tenant);
      // It may have finished between our read and the cancel.
      if (FINISHED_STATUSES.has(after.status) && after.status !== 'canceled') throw finished(id, after.status);
      return after;
    },
  );
};

function finished(id: string, status: string) {
  return problemError('TASK_FINISHED', `Task ${id} already finished with status ${status}; only queued, delayed and running tasks can be canceled.`);
}

/** ?wait=<ms>: 0 when absent; more than DROVER_WAIT_MAX_MS is refused rather than cut short in silence. */
function waitOf(wait: number | undefined, max: number): number {
  if (wait === undefined) return 0;
  if (wait > max) {
    throw problemError('VALIDATION', `Invalid query parameter: wait must be at most ${max} ms (DROVER_WAIT_MAX_MS); got ${wait}.`, [
      { path: '/wait', message: `must be <= ${max}` },
    ]);
  }
  return wait;
}

/** The header and the body field are two spellings of one key; both, differing, is a mistake. */
function idempotencyKey(request: FastifyRequest, fromBody: string | undefined): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return fromBody;
  if (typeof header !== 'string' || header.length === 0 || header.length > IDEMPOTENCY_KEY_MAX) {
    throw problemError('VALIDATION', `The Idempotency-Key header must be 1-${IDEMPOTENCY_KEY_MAX} characters.`, [
      { path: '/headers/idempotency-key', message: `must be 1-${IDEMPOTENCY_KEY_MAX} characters` },
    ]);
  }
  if (fromBody !== undefined && fromBody !== header) {
    throw problemError('VALIDATION', 'The Idempotency-Key header and the idempotencyKey field differ; send one, or the same value in both.', [
      { path: '/idempotencyKey', message: 'differs from the Idempotency-Key header' },
    ]);
  }
  return header;
}
