import type { TaskRecord } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { DeadLetterBulkBody, DeadLetterBulkResult, DeadLetterQuery, LIST_LIMIT_DEFAULT, ProblemRef, TaskIdParams, TaskPage, TaskRecordRef } from '../api-schemas.js';
import { backendFailure, problemError } from '../problem.js';
import type { DroverContext } from '../drover-context.js';
import { checkQueueFilter, ownTask } from './task-access.js';
import { submitAdmitted } from '../admitted-submit.js';

const ERRORS = { '4xx': ProblemRef, '5xx': ProblemRef };
/** Pages of the task list read to fill one page of dead letters when an error code filters them. */
const SCAN_PAGES = 10;

interface Filter {
  queue?: string | undefined;
  type?: string | undefined;
  code?: string | undefined;
}

/**
 * Dead letters: the tenant's tasks that failed for good (attempts exhausted, a permanent error,
 * quarantined as poison). They stay for DROVER_RESULT_TTL_SECONDS like any finished task, can be
 * listed with filters, retried (as a new task with the same type, input and options) or discarded,
 * one by one or in bulk by filter.
 */
export const deadLetterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.drover;
  const { backend } = ctx;

  /** One page of dead letters matching the filter, oldest first. */
  const page = async (tenant: string, filter: Filter, limit: number, cursor: string | undefined) => {
    const items: TaskRecord[] = [];
    let next = cursor;
    for (let read = 0; read < SCAN_PAGES; read++) {
      const p = await backend.list({ tenant, status: 'failed', queue: filter.queue, type: filter.type, limit: limit - items.length, cursor: next }).catch(backendFailure);
      items.push(...(filter.code ? p.items.filter((t) => t.error?.code === filter.code) : p.items));
      next = p.nextCursor ?? undefined;
      if (!next || items.length >= limit) break;
    }
    return { items, nextCursor: next ?? null };
  };

  app.get(
    '/dead-letters',
    {
      schema: {
        summary: 'List dead letters',
        description:
          'Tasks of the caller that failed for good (attempts exhausted, a permanent error, DROVER_ERR_TASK_QUARANTINED), oldest first, filtered by queue, type and error code. Pass nextCursor back as cursor; a page may hold fewer than limit items.',
        tags: ['dead letters'],
        querystring: DeadLetterQuery,
        response: { 200: TaskPage, ...ERRORS },
      },
    },
    async (request) => {
      const q = request.query;
      checkQueueFilter(ctx, q.queue);
      return page(request.tenant, q, q.limit ?? LIST_LIMIT_DEFAULT, q.cursor);
    },
  );

  app.post(
    '/dead-letters/:id/retry',
    {
      schema: {
        summary: 'Retry a dead letter',
        description:
          'Submits it again as a new task (same type, queue, input, priority, maxAttempts and timeoutMs; no parent) and removes the dead letter. Idempotent: retrying the same dead letter twice answers the same new task.',
        tags: ['dead letters'],
        params: TaskIdParams,
        response: { 200: TaskRecordRef, 201: TaskRecordRef, ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request, reply) => {
      const dead = await deadLetter(ctx, request.params.id, request.tenant);
      const { task, created } = await retry(ctx, dead);
      reply.code(created ? 201 : 200);
      return task;
    },
  );

  app.delete(
    '/dead-letters/:id',
    {
      schema: {
        summary: 'Discard a dead letter',
        description: 'Removes the failed task for good (its record, result and idempotency key).',
        tags: ['dead letters'],
        params: TaskIdParams,
        response: { 200: Type.Object({ id: Type.String(), discarded: Type.Boolean() }), ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request) => {
      const dead = await deadLetter(ctx, request.params.id, request.tenant);
      return { id: dead.id, discarded: await backend.discard(dead.id).catch(backendFailure) };
    },
  );

  for (const action of ['retry', 'discard'] as const) {
    app.post(
      `/dead-letters/${action}`,
      {
        schema: {
          summary: action === 'retry' ? 'Retry dead letters by filter' : 'Discard dead letters by filter',
          description: `${action === 'retry' ? 'Retries' : 'Discards'} up to limit (default 100, at most 1000) of the caller's dead letters matching queue, type, code or ids, oldest first. more is true when others still match: call again.`,
          tags: ['dead letters'],
          body: DeadLetterBulkBody,
          response: { 200: DeadLetterBulkResult, ...ERRORS },
        },
      },
      async (request) => {
        const body = request.body;
        checkQueueFilter(ctx, body.queue);
        const limit = body.limit ?? 100;
        const targets = body.ids ? await chosen(ctx, body.ids, request.tenant, body) : (await page(request.tenant, body, limit, undefined)).items;
        const done: string[] = [];
        const tasks: TaskRecord[] = [];
        for (const dead of targets.slice(0, limit)) {
          if (action === 'retry') {
            tasks.push((await retry(ctx, dead)).task);
            done.push(dead.id);
          } else if (await backend.discard(dead.id).catch(backendFailure)) {
            done.push(dead.id);
          }
        }
        const more = body.ids ? false : (await page(request.tenant, body, 1, undefined)).items.length > 0;
        return action === 'retry' ? { count: done.length, ids: done, tasks, more } : { count: done.length, ids: done, more };
      },
    );
  }
};

/** The caller's failed task of that id: 404 when it is not theirs, 409 when it has not failed. */
async function deadLetter(ctx: DroverContext, id: string, tenant: string): Promise<TaskRecord> {
  const task = await ownTask(ctx.backend, id, tenant);
  if (task.status !== 'failed') {
    throw problemError('NOT_DEAD_LETTER', `Task ${id} is ${task.status}, not failed; only failed tasks are dead letters (retry and discard take those).`);
  }
  return task;
}

/** The listed ids that are the caller's dead letters and match the filter; others are skipped. */
async function chosen(ctx: DroverContext, ids: string[], tenant: string, filter: Filter): Promise<TaskRecord[]> {
  const out: TaskRecord[] = [];
  for (const id of ids) {
    const t = await ctx.backend.get(id).catch(backendFailure);
    if (!t || t.tenant !== tenant || t.status !== 'failed') continue;
    if ((filter.queue && t.queue !== filter.queue) || (filter.type && t.type !== filter.type) || (filter.code && t.error?.code !== filter.code)) continue;
    out.push(t);
  }
  return out;
}

/**
 * A new task from a dead one, checked like a fresh submission (its type's current schema), with
 * an idempotency key made from the dead letter's id so a repeated retry finds the same task; then
 * the dead letter goes. A crash between the two leaves the dead letter, and retrying it again
 * answers the task already made.
 */
async function retry(ctx: DroverContext, dead: TaskRecord): Promise<{ task: TaskRecord; created: boolean }> {
  const { submissions } = ctx;
  const req = await submissions.build(
    { type: dead.type, queue: dead.queue, input: dead.input, priority: dead.priority, maxAttempts: dead.maxAttempts, timeoutMs: dead.timeoutMs },
    dead.tenant,
    `drover-retry:${dead.id}`,
    '',
  );
  const result = await submitAdmitted(ctx, req);
  await ctx.backend.discard(dead.id).catch(backendFailure);
  return result;
}
