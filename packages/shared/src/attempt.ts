import { DroverError, isDroverError } from './errors.js';
import type { AttemptContext, TaskHandler } from './backend.js';
import type { TaskError, TaskRecord } from './task.js';

/**
 * How one attempt ended. Every backend runs handlers through runAttempt(), so timeout, cancel
 * and error classification behave the same on every transport.
 */
export type AttemptOutcome =
  | { kind: 'succeeded'; output: unknown }
  | { kind: 'failed'; error: TaskError }
  | { kind: 'canceled'; error: TaskError }
  /** The consumer shut down mid-run: the task must go back to the queue, not be finished. */
  | { kind: 'interrupted' };

export interface AttemptOptions {
  /** Aborts the attempt as `canceled` (a cancel request reached this process). */
  cancel?: AbortSignal;
  /** Aborts the attempt as `interrupted` (the consumer is closing past its grace). */
  shutdown?: AbortSignal;
  progress: (value: unknown) => Promise<void>;
  /** How long to let a handler that ignores its signal keep its slot after an abort. */
  abandonAfterMs?: number;
}

const CANCELED: TaskError = { code: 'DROVER_ERR_TASK_CANCELED', message: 'Task was canceled.', retryable: false };

export async function runAttempt(task: TaskRecord, handler: TaskHandler, options: AttemptOptions): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let reason: 'timeout' | 'canceled' | 'interrupted' | undefined;
  const abort = (why: 'timeout' | 'canceled' | 'interrupted') => {
    if (reason) return;
    reason = why;
    const error =
      why === 'timeout'
        ? new DroverError('TASK_TIMEOUT', `Task exceeded its timeout of ${task.timeoutMs} ms.`, { retryable: true })
        : why === 'canceled'
          ? new DroverError('TASK_CANCELED', 'Task was canceled.')
          : new DroverError('SHUTTING_DOWN', 'Worker is shutting down; the task will run again.', { retryable: true });
    controller.abort(error);
  };

  const timer = setTimeout(() => abort('timeout'), task.timeoutMs);
  const onCancel = () => abort('canceled');
  const onShutdown = () => abort('interrupted');
  if (options.cancel?.aborted) onCancel();
  else options.cancel?.addEventListener('abort', onCancel, { once: true });
  if (options.shutdown?.aborted) onShutdown();
  else options.shutdown?.addEventListener('abort', onShutdown, { once: true });

  const ctx: AttemptContext = { signal: controller.signal, attempt: task.attempt, progress: options.progress };
  const run = (async () => handler(task, ctx))().then(
    (output) => ({ ok: true as const, output }),
    (error: unknown) => ({ ok: false as const, error }),
  );

  // A handler that ignores its signal is given a short time to notice, then abandoned: the
  // outcome is recorded without it, so a stuck handler cannot pin a task forever.
  const aborted = new Promise<'aborted'>((resolve) => {
    controller.signal.addEventListener(
      'abort',
      () => setTimeout(() => resolve('aborted'), options.abandonAfterMs ?? 2000).unref(),
      { once: true },
    );
  });

  try {
    const settled = await Promise.race([run, aborted]);
    if (reason === 'canceled') return { kind: 'canceled', error: CANCELED };
    if (reason === 'interrupted') return { kind: 'interrupted' };
    if (reason === 'timeout') return { kind: 'failed', error: toTaskError(controller.signal.reason) };
    if (settled === 'aborted') return { kind: 'failed', error: toTaskError(controller.signal.reason) };
    return settled.ok ? { kind: 'succeeded', output: settled.output ?? null } : { kind: 'failed', error: classifyError(settled.error) };
  } finally {
    clearTimeout(timer);
    options.cancel?.removeEventListener('abort', onCancel);
    options.shutdown?.removeEventListener('abort', onShutdown);
  }
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

function toTaskError(reason: unknown): TaskError {
  return classifyError(reason);
}
