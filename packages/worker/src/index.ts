export { createWorker, type Worker } from './worker.js';
export type { WorkerOptions } from './worker-options.js';
export { defineTask, type TaskDefinition, type TaskContext, type WorkerServices } from './task-definition.js';
export { startHealthServer, type HealthServerOptions } from './health-server.js';
export { builtinTasks } from './builtin-tasks.js';
export { echoTask } from './tasks/echo.js';
export { sleepTask } from './tasks/sleep.js';
export { Semaphore } from './semaphore.js';
