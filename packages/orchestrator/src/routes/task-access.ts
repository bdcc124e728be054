import { type Backend, FINISHED_STATUSES, type TaskRecord } from '@drover/shared';
import type { FastifyReply } from 'fastify';
import { backendFailure, problemError } from '../problem.js';
import type { TaskWaiter } from '../task-waiter.js';
import type { DroverContext } from '../drover-context.js';

/**
 * A tenant's view of tasks: another tenant's task is answered exactly like a missing one (404,
 * never 403), so ids cannot be probed across tenants.
 */
export async function ownTask(backend: Backend, id: string, tenant: string, what = 'task'): Promise<TaskRecord> {
  const task = await backend.get(id).catch(backendFailure);
  if (task === null || task.tenant !== tenant) {
    throw problemError('TASK_NOT_FOUND', `No ${what} ${JSON.stringify(id)} for this tenant; it may never have existed or its result may have expired (DROVER_RESULT_TTL_SECONDS).`);
  }
  return task;
}

/**
 * Long-poll: registers with the waiter BEFORE reading the record, so a finish between the read
 * and the wait still wakes us; answers the current record when `ms` runs out or the client leaves.
 */
export async function waitForFinish(backend: Backend, waiter: TaskWaiter, id: string, tenant: string, ms: number, reply: FastifyReply): Promise<TaskRecord> {
  const ticket = await waiter.watch(id).catch(backendFailure);
  const onClose = () => ticket.release();
  try {
    const task = await ownTask(backend, id, tenant);
    if (FINISHED_STATUSES.has(task.status) || ms <= 0) return task;
    reply.raw.once('close', onClose);
    const finished = await ticket.until(ms);
    if (!finished && reply.raw.destroyed) return task;
    return await ownTask(backend, id, tenant);
  } finally {
    reply.raw.off('close', onClose);
    ticket.release();
  }
}

/** A `queue` filter must name a configured queue (400 DROVER_ERR_UNKNOWN_QUEUE, naming the field). */
export function checkQueueFilter(ctx: DroverContext, queue: string | undefined, path = '/queue'): void {
  if (queue !== undefined && !ctx.queues.has(queue)) {
    throw problemError('UNKNOWN_QUEUE', `Queue ${JSON.stringify(queue)} does not exist; queues: ${ctx.config.queues.join(', ')} (DROVER_QUEUES).`, [
      { path, message: 'is not one of DROVER_QUEUES' },
    ]);
  }
}
