import { DroverError, isDroverError } from './errors.js';
import type { AttemptContext, TaskHandler } from './backend.js';
import type { TaskError, TaskRecord } from './task.js';
import { CANCELED_ERROR } from './task-rules.js';
import { type ChildWait, SuspendSignal } from './suspend-signal.js';

/**
 * How one attempt ended. Every backend runs handlers through runAttempt(), so timeout, cancel
 * and error classification behave the same on every transport.
 */
export type AttemptOutcome =
  | { kind: 'succeeded'; output: unknown }
  | { kind: 'failed'; error: TaskError }
  | { kind: 'canceled'; error: TaskError }
  /** The consumer shut down mid-run: the task must go back to the queue, not be finished. */
  | { kind: 'interrupted' }
  /** The handler waits on children that have not finished: it suspends (see spawn.ts). */
  | { kind: 'suspended'; wait: ChildWait };

export interface AttemptOptions {
  /** Aborts the attempt as `canceled` (a cancel request reached this process). */
  cancel?: AbortSignal;
  /** Aborts the attempt as `interrupted` (the consumer is closing past its grace). */
  shutdown?: AbortSignal;
  progress: (value: unknown) => Promise<void>;
  /** How long to let a handler that ignores its signal keep its slot after an abort. */
  abandonAfterMs?: number;
}

type AbortWhy = 'timeout' | 'canceled' | 'interrupted';


/**
 * One attempt of a task, and the context its handler receives. This is on every task's path,
 * so the common case (a handler that finishes in time) allocates little: no closures per
 * attempt, the AbortController behind `signal` is made only when the handler reads it or an
 * abort happens, and backends abort through cancel()/interrupt() instead of listening on
 * signals. runAttempt() keeps the signal-based options for callers that have signals.
 */
export class Attempt implements AttemptContext {
  readonly outcome: Promise<AttemptOutcome>;
  readonly attempt: number;
  readonly progress: (value: unknown) => Promise<void>;
  private resolve!: (outcome: AttemptOutcome) => void;
  private controller: AbortController | undefined;
  private why: AbortWhy | undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;
  private abandon: NodeJS.Timeout | undefined;

  constructor(
    private readonly task: TaskRecord,
    handler: TaskHandler,
    progress: (value: unknown) => Promise<void>,
    private readonly abandonAfterMs = 2000,
  ) {
    this.attempt = task.attempt;
    this.progress = progress;
    this.outcome = new Promise<AttemptOutcome>((resolve) => {
      this.resolve = resolve;
    });
    this.timer = setTimeout(onTimeout, task.timeoutMs, this);
    void this.run(handler);
  }

  get taskId(): string {
    return this.task.id;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** A cancel request reached this process: abort, and record the task as canceled. */
  cancel(): void {
    this.abort('canceled');
  }

  /** The consumer is closing past its grace: abort, and put the task back in the queue. */
  interrupt(): void {
    this.abort('interrupted');
  }

  timeout(): void {
    this.abort('timeout');
  }

  private async run(handler: TaskHandler): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      const output = await handler(this.task, this);
      outcome = this.why ? this.abortedOutcome() : { kind: 'succeeded', output: output ?? null };
    } catch (error) {
      if (this.why) outcome = this.abortedOutcome();
      else if (error instanceof SuspendSignal) outcome = { kind: 'suspended', wait: error.wait };
      else outcome = { kind: 'failed', error: classifyError(error) };
    }
    this.finish(outcome);
  }

  private abort(why: AbortWhy): void {
    if (this.why || this.settled) return;
    this.why = why;
    this.controller ??= new AbortController();
    this.controller.abort(abortError(why, this.task));
    // A handler that ignores its signal is given a short time to notice, then abandoned: the
    // outcome is recorded without it, so a stuck handler cannot pin a task forever.
    this.abandon = setTimeout(onAbandon, this.abandonAfterMs, this);
    this.abandon.unref();
  }

  /** Called by the abandon timer. */
  giveUp(): void {
    this.finish(this.abortedOutcome());
  }

  private abortedOutcome(): AttemptOutcome {
    if (this.why === 'canceled') return { kind: 'canceled', error: CANCELED_ERROR };
    if (this.why === 'interrupted') return { kind: 'interrupted' };
    return { kind: 'failed', error: classifyError(this.controller?.signal.reason) };
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.abandon) clearTimeout(this.abandon);
    this.resolve(outcome);
  }
}

function onTimeout(attempt: Attempt): void {
  attempt.timeout();
}

function onAbandon(attempt: Attempt): void {
  attempt.giveUp();
}

/** Runs one attempt, aborting it when `cancel` or `shutdown` fires. */
export function runAttempt(task: TaskRecord, handler: TaskHandler, options: AttemptOptions): Promise<AttemptOutcome> {
  const attempt = new Attempt(task, handler, options.progress, options.abandonAfterMs);
  const { cancel, shutdown } = options;
  if (!cancel && !shutdown) return attempt.outcome;
  const onCancel = () => attempt.cancel();
  const onShutdown = () => attempt.interrupt();
  if (cancel?.aborted) onCancel();
  else cancel?.addEventListener('abort', onCancel, { once: true });
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener('abort', onShutdown, { once: true });
  return attempt.outcome.finally(() => {
    cancel?.removeEventListener('abort', onCancel);
    shutdown?.removeEventListener('abort', onShutdown);
  });
}

function abortError(why: AbortWhy, task: TaskRecord): DroverError {
  if (why === 'timeout') return new DroverError('TASK_TIMEOUT', `Task exceeded its timeout of ${task.timeoutMs} ms.`, { retryable: true });
  if (why === 'canceled') return new DroverError('TASK_CANCELED', 'Task was canceled.');
  return new DroverError('SHUTTING_DOWN', 'Worker is shutting down; the task will run again.', { retryable: true });
}

/**
 * Turns whatever a handler threw into a TaskError. Errors are retryable unless they say
 * otherwise (`retryable: false`, a PermanentError, or a DroverError that is not retryable).
 */
export function classifyError(error: unknown): TaskError {
  if (isDroverError(error)) return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; retryable?: unknown };
    const code = typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{2,63}$/.test(e.code) ? e.code : 'DROVER_ERR_TASK_FAILED';
    return { code, message: e.message || e.name, retryable: typeof e.retryable === 'boolean' ? e.retryable : true };
  }
  return { code: 'DROVER_ERR_TASK_FAILED', message: typeof error === 'string' ? error : 'Task handler threw a non-Error value.', retryable: true };
}
