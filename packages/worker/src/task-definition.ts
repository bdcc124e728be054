import type { Static, TSchema } from '@sinclair/typebox';
import type { ChildFailurePolicy, ChildHandle, Logger, SpawnOptions, TaskRecord } from '@drover/shared';
import type { TaskMemory } from './agent-memory.js';
import type { TaskGraph } from './task-graph.js';

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
  /**
   * Logger bound to the task id and type; its info, warn, error and fatal lines are also the
   * task's `log` events (GET /v1/tasks/:id/events).
   */
  log: Logger;
  /** Services the worker was created with (e.g. the scraper), for tasks that need them. */
  services: WorkerServices;
  /**
   * Submits a child task (same tenant; its timeout never exceeds this task's). Waiting on a child
   * that has not finished suspends this task: it frees its slot and runs again from the top once
   * the child finishes, and the same spawn() calls then return the same children (memoised by
   * position). See docs/agents.md.
   */
  spawn(type: string, input: unknown, options?: SpawnOptions): Promise<ChildHandle>;
  /** Every child's result in order (fan-in); suspends until all have finished. */
  all(children: Array<ChildHandle | Promise<ChildHandle>>): Promise<unknown[]>;
  /** The result of the first child to finish; suspends until one has. */
  race(children: Array<ChildHandle | Promise<ChildHandle>>): Promise<unknown>;
  /**
   * Vector memory that outlives the task: remember(), recall(), forget() in collections of this
   * task's tenant (no tenant can recall another's). See docs/memory.md.
   */
  memory: TaskMemory;
  /**
   * The tenant's task and knowledge graph: this task's node (ctx.graph.self), link() and
   * produced() to add nodes and relations, neighbours() to read them. Task trees are recorded in
   * it by the worker (SPAWNED, OF_TYPE). See docs/memory.md.
   */
  graph: TaskGraph;
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
  /**
   * What a failed or canceled child does: `fail-parent` (default) fails this task with
   * DROVER_ERR_CHILD_FAILED; `value` hands it over as {id, status, output, error}, and then every
   * child result is such an object.
   */
  childFailure?: ChildFailurePolicy;
  /** At most this many of this type at once in one worker process. */
  concurrency?: number;
  /**
   * Per-key concurrency across the cluster: tasks with the same key (e.g. `input => input.repo`)
   * run at most `keyConcurrency` at once (default 1); the others wait without holding a slot
   * (status `waiting`, tried again shortly).
   */
  concurrencyKey?: (input: Static<S>) => string;
  keyConcurrency?: number;
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
