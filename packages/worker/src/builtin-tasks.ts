import type { TaskDefinition } from './task-definition.js';
import { echoTask } from './tasks/echo.js';
import { sleepTask } from './tasks/sleep.js';

/** The task types every worker registers unless told otherwise. */
export function builtinTasks(): TaskDefinition<any>[] {
  return [echoTask, sleepTask];
}
