import type { Backend, TaskTypeInfo } from './backend.js';
import { DroverError, isDroverError } from './errors.js';
import { SuspendSignal } from './suspend-signal.js';
import { FINISHED_STATUSES, PRIORITY_DEFAULT, type TaskError, type TaskRecord, type TaskStatus } from './task.js';

/** What a parent may set for one child; the rest comes from the child's task type. */
export interface SpawnOptions {
  /** Default: the queue the child's type was registered with, else the parent's. */
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  backoffMs?: number;
  /** Capped at the parent's own timeout: a child never outlives its parent's deadline. */
  timeoutMs?: number;
}

/**
 * What a failed (or canceled) child does to its parent, declared by the parent's task type:
 * `fail-parent` (the default) makes result()/all()/race() throw DROVER_ERR_CHILD_FAILED, which
 * fails the parent for good; `value` hands every child's end to the parent as a ChildOutcome.
 */
export type ChildFailurePolicy = 'fail-parent' | 'value';

/** A finished child as the `value` policy hands it over. */
export interface ChildOutcome {
  id: string;
  status: Extract<TaskStatus, 'succeeded' | 'failed' | 'canceled'>;
  output: unknown;
  error: TaskError | null;
}

export interface ChildHandle {
  readonly id: string;
  readonly type: string;
  /** The child's output; suspends the parent while the child runs (see SuspendSignal). */
  result(): Promise<unknown>;
}

type HandleLike = ChildHandle | Promise<ChildHandle>;

/** The part of a backend spawning needs. */
export type SpawnBackend = Pick<Backend, 'submit' | 'get' | 'getMany' | 'taskTypes'>;

/**
 * ctx.spawn(), ctx.all() and ctx.race() for one attempt of a parent. A parent that waits on
 * unfinished children suspends: the attempt ends, its worker slot is free, and it runs again
 * from the top once they finish. Children are memoised by position: the n-th spawn() of every
 * run submits with the idempotency key `drover-spawn:<parent id>:<n>`, so a re-run finds the
 * children it made before (and their results) instead of making new ones. A run that spawns a
 * different child at the same position fails with DROVER_ERR_SPAWN_MISMATCH: a handler's spawns
 * must be deterministic, as in Temporal's workflows.
 */
export class ChildSpawner {
  private seq = 0;
  private types: Promise<Map<string, TaskTypeInfo>> | undefined;
  private earlier: Promise<Map<number, TaskRecord>> | undefined;
  /** Finished children read at this run's start: their records do not change. */
  private readonly finished = new Map<string, TaskRecord>();

  constructor(
    private readonly backend: SpawnBackend,
    private readonly parent: TaskRecord,
    private readonly signal: AbortSignal,
    private readonly policy: ChildFailurePolicy = 'fail-parent',
    /** The parent's run span (tracing on): each child's run is traced as its child. */
    private readonly traceparent?: string,
  ) {}

  /** Submits the child (same tenant as the parent) and returns its handle. */
  async spawn(type: string, input: unknown, options: SpawnOptions = {}): Promise<ChildHandle> {
    // The position is taken before any await, so concurrent spawns keep their call order.
    const position = this.seq++;
    if (this.signal.aborted) throw this.signal.reason ?? new DroverError('TASK_CANCELED', 'Task was canceled.');
    const parent = this.parent;
    // A re-run finds the children an earlier run made (read once, with their records) instead of
    // submitting them again: no submit per child on resume, and finished ones need no second read.
    const earlier = (await this.earlierChildren()).get(position);
    if (earlier) {
      if (earlier.type !== type || JSON.stringify(earlier.input) !== JSON.stringify(input ?? null)) throw mismatch(parent.id, type, position);
      if (FINISHED_STATUSES.has(earlier.status)) this.finished.set(earlier.id, earlier);
      return new Child(earlier.id, type, this);
    }
    const info = (await this.typeInfo()).get(type);
    const timeoutMs = Math.min(options.timeoutMs ?? info?.timeoutMs ?? parent.timeoutMs, parent.timeoutMs);
    try {
      const { task } = await this.backend.submit({
        type,
        queue: options.queue ?? info?.queue ?? parent.queue,
        tenant: parent.tenant,
        input: input ?? null,
        priority: options.priority ?? PRIORITY_DEFAULT,
        delayMs: 0,
        maxAttempts: options.maxAttempts ?? info?.maxAttempts ?? 1,
        backoffMs: options.backoffMs ?? info?.backoffMs ?? 1000,
        timeoutMs,
        idempotencyKey: `drover-spawn:${parent.id}:${position}`,
        parentId: parent.id,
        ...(this.traceparent ? { traceparent: this.traceparent } : {}),
      });
      return new Child(task.id, type, this);
    } catch (err) {
      if (isDroverError(err) && err.code === 'DROVER_ERR_IDEMPOTENCY_CONFLICT') throw mismatch(parent.id, type, position);
      throw err;
    }
  }

  /** Every child's result, in order; suspends until all have finished. */
  async all(handles: HandleLike[]): Promise<unknown[]> {
    const children = await Promise.all(handles);
    const records = await this.read(children);
    const pending: string[] = [];
    for (const r of records) {
      if (!FINISHED_STATUSES.has(r.status)) pending.push(r.id);
      // Fail fast, as Promise.all does: one failed child is enough to know the answer.
      else if (r.status !== 'succeeded' && this.policy === 'fail-parent') throw childFailed(r);
    }
    if (pending.length > 0) throw new SuspendSignal({ ids: pending, mode: 'all' });
    return records.map((r) => this.valueOf(r));
  }

  /** The result of the child that finished first (ties by id); suspends until one has. */
  async race(handles: HandleLike[]): Promise<unknown> {
    const children = await Promise.all(handles);
    if (children.length === 0) throw new DroverError('BAD_REQUEST', 'ctx.race() needs at least one child handle.');
    const records = await this.read(children);
    const done = records.filter((r) => FINISHED_STATUSES.has(r.status));
    if (done.length === 0) throw new SuspendSignal({ ids: records.map((r) => r.id), mode: 'any' });
    done.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '') || a.id.localeCompare(b.id));
    const first = done[0]!;
    if (first.status !== 'succeeded' && this.policy === 'fail-parent') throw childFailed(first);
    return this.valueOf(first);
  }

  /** @internal handle.result() */
  async resultOf(child: Child): Promise<unknown> {
    return (await this.all([child]))[0];
  }

  private valueOf(r: TaskRecord): unknown {
    if (this.policy === 'fail-parent') return r.output;
    const outcome: ChildOutcome = { id: r.id, status: r.status as ChildOutcome['status'], output: r.output, error: r.error };
    return outcome;
  }

  /** The children earlier runs of this parent made, by spawn position (none on a first run). */
  private earlierChildren(): Promise<Map<number, TaskRecord>> {
    this.earlier ??= (async () => {
      const byPosition = new Map<number, TaskRecord>();
      const me = this.parent.attempt > 1 ? await this.backend.get(this.parent.id) : null;
      if (!me || me.children.length === 0) return byPosition;
      const prefix = `drover-spawn:${this.parent.id}:`;
      for (const r of await this.backend.getMany(me.children)) {
        if (r?.idempotencyKey?.startsWith(prefix)) byPosition.set(Number(r.idempotencyKey.slice(prefix.length)), r);
      }
      return byPosition;
    })();
    return this.earlier;
  }

  private async read(children: ChildHandle[]): Promise<TaskRecord[]> {
    const unread = children.filter((c) => !this.finished.has(c.id)).map((c) => c.id);
    const read = new Map((await this.backend.getMany(unread)).map((r, i) => [unread[i]!, r]));
    const records = children.map((c) => this.finished.get(c.id) ?? read.get(c.id) ?? null);
    return records.map((r, i) => {
      // A child is kept as long as its parent's results are; gone means it expired.
      if (!r) throw new DroverError('CHILD_FAILED', `Child task ${children[i]!.id} no longer exists (its result expired).`);
      return r;
    });
  }

  private typeInfo(): Promise<Map<string, TaskTypeInfo>> {
    this.types ??= this.backend.taskTypes().then((list) => new Map(list.map((t) => [t.name, t])));
    return this.types;
  }
}

class Child implements ChildHandle {
  constructor(
    readonly id: string,
    readonly type: string,
    private readonly spawner: ChildSpawner,
  ) {}

  result(): Promise<unknown> {
    return this.spawner.resultOf(this);
  }
}

function mismatch(parentId: string, type: string, position: number): DroverError {
  return new DroverError(
    'SPAWN_MISMATCH',
    `This run of task ${parentId} spawned a different ${type} child at position ${position} than an earlier run did; spawns must be made in the same order with the same input on every run.`,
  );
}

function childFailed(r: TaskRecord): DroverError {
  const why = r.error ? `${r.error.code}: ${r.error.message}` : r.status;
  return new DroverError('CHILD_FAILED', `Child task ${r.id} (${r.type}) ended ${r.status} (${why}).`, { details: { childId: r.id } });
}
