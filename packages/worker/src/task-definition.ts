import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger, TaskRecord } from '@drover/shared';

/** What a task's `run` receives besides its input. */
export interface TaskContext {
  /** Aborted on timeout, on cancel, and when the worker shuts down past its grace period. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** The task record as it was when this attempt started (id, tenant, queue, ...). */
  task: TaskRecord;
  /** Report progress: a number 0-100 or a JSON object. */
  progress(value: unknown): Promise<void>;
  /** Logger bound to the task id and type. */
  log: Logger;
  /** Services the worker was created with (e.g. the scraper), for tasks that need them. */
  services: WorkerServices;
}

/** Extension point: collaborators passed to createWorker() and handed to every task. */
export interface WorkerServices {
  [name: string]: unknown;
}

export interface TaskDefinition<S extends TSchema = TSchema> {
  /** Lowercase name used in `POST /v1/tasks {"type": ...}`. */
  name: string;
  /** Queue the task runs on; default `general`. */
  queue?: string;
  /** TypeBox schema of the input; checked by the orchestrator at submit and by the worker before run. */
  input: S;
  run(input: Static<S>, ctx: TaskContext): Promise<unknown>;
  /** At most this many of this type at once in one worker process. */
  concurrency?: number;
  /** Defaults used when a submission does not set them. */
  timeoutMs?: number;
  maxAttempts?: number;
  backoffMs?: number;
  description?: string;
}

/** Identity function that keeps the input type of `run` tied to the schema. */
export function defineTask<S extends TSchema>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}
