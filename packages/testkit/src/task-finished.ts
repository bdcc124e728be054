import { type Backend, FINISHED_STATUSES, type TaskRecord } from '@drover/shared';
import { waitUntil } from './wait-until.js';

/** Polls `backend` until task `id` has finished (succeeded, failed or canceled); returns it. */
export function taskFinished(backend: Pick<Backend, 'get'>, id: string, timeoutMs = 15_000, everyMs = 20): Promise<TaskRecord> {
  return waitUntil(
    async () => {
      const task = await backend.get(id);
      return task && FINISHED_STATUSES.has(task.status) ? task : null;
    },
    `task ${id} to finish`,
    timeoutMs,
    everyMs,
  );
}
