import type { TaskStatus } from './api-types.js';

/** The final states: a task in one of them never changes again. */
export const FINISHED_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['succeeded', 'failed', 'canceled']);

export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.has(status);
}
