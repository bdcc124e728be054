import type { AttemptOutcome } from './attempt.js';
import { backoffDelay } from './backoff.js';
import type { TaskError, TaskStatus } from './task.js';

/**
 * The task's rules, in one place: its states and their moves, what an attempt's end does to the
 * task, how attempts are counted, when a failure is retried and after how long, what cancel
 * does in each state, and how many lost workers a task survives. Every backend decides with
 * these functions and keeps only storage, its atomic scripts and its transport; a script that
 * must decide atomically (a lost worker found while claiming a task) takes its limits and
 * errors from here as arguments.
 */

/** The moves a task's status may make. Finished states are final. */
export const TASK_MOVES: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  // Submitted without a delay; handed to a worker, canceled before it starts.
  queued: ['running', 'canceled'],
  // Submitted with a delay, or waiting out a retry's backoff.
  delayed: ['queued', 'canceled'],
  // An attempt ends: done, failed for good, canceled, retried later (delayed), or put back
  // (queued: interrupted by a shutdown, or its worker was lost).
  running: ['succeeded', 'failed', 'canceled', 'delayed', 'queued'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function canMove(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_MOVES[from].includes(to);
}

export const CANCELED_ERROR: TaskError = Object.freeze({ code: 'DROVER_ERR_TASK_CANCELED', message: 'Task was canceled.', retryable: false });

/** Retryable, as a later run may survive what killed the workers. */
export const WORKER_LOST_ERROR: TaskError = Object.freeze({
  code: 'DROVER_ERR_WORKER_LOST',
  message: 'The workers running this task were lost (crash, OOM, SIGKILL) more often than tolerated; it was failed instead of being run again.',
  retryable: true,
});

/**
 * Workers a task may lose mid-run (crash, OOM, SIGKILL: its lock or lease expires) and still run
 * again; one more loss fails it with WORKER_LOST_ERROR. A loss is not the handler's failure, so
 * it does not count against maxAttempts.
 */
export const MAX_WORKER_LOSSES = 2;

/**
 * Whether a task whose worker was lost for the `losses`-th time runs again. The loss is found
 * inside atomic scripts, which apply this comparison with the limit passed from here: BullMQ's
 * stalled checker (maxStalledCount) and the rabbitmq backend's END_IF_LOST script.
 */
export function rerunsAfterWorkerLoss(losses: number, maxLosses = MAX_WORKER_LOSSES): boolean {
  return losses <= maxLosses;
}

/** What the retry policy of a task is. */
export interface RetryPolicy {
  maxAttempts: number;
  /** Base of the exponential backoff between attempts. */
  backoffMs: number;
}

/**
 * Attempt counting. `record.attempt` counts every run started (so a handler can tell a first run
 * from a repeat); the attempts that count against maxAttempts are the runs that ended in a
 * failure, a success or a cancel. A run a shutdown interrupted, or whose worker was lost, does
 * not count: it was not the handler's doing.
 */
export function countsAgainstAttempts(outcome: AttemptOutcome): boolean {
  return outcome.kind !== 'interrupted';
}

/** The delay before retry number `counted` + 1, after `counted` counted attempts (1-based). */
export function retryDelay(counted: number, policy: RetryPolicy): number {
  return backoffDelay(counted, policy.backoffMs);
}

/** What to do with a task once one of its attempts has ended. */
export type AttemptDecision =
  | { kind: 'succeed' }
  | { kind: 'cancel'; error: TaskError }
  /** Put back at the front of the queue now; the attempt does not count. */
  | { kind: 'requeue' }
  | { kind: 'retry'; error: TaskError; delayMs: number }
  | { kind: 'fail'; error: TaskError };

const SUCCEED: AttemptDecision = Object.freeze({ kind: 'succeed' });
const REQUEUE: AttemptDecision = Object.freeze({ kind: 'requeue' });

/**
 * The decision after an attempt. `counted` is the number of counted attempts including this one
 * (1 after the first). A failure is retried when its error is retryable and attempts are left;
 * otherwise it is final. On the hot path (success) this allocates nothing.
 */
export function decideAfterAttempt(outcome: AttemptOutcome, counted: number, policy: RetryPolicy): AttemptDecision {
  switch (outcome.kind) {
    case 'succeeded':
      return SUCCEED;
    case 'interrupted':
      return REQUEUE;
    case 'canceled':
      return { kind: 'cancel', error: outcome.error };
    case 'failed':
      if (outcome.error.retryable && counted < policy.maxAttempts) return { kind: 'retry', error: outcome.error, delayMs: retryDelay(counted, policy) };
      return { kind: 'fail', error: outcome.error };
  }
}

/** What a cancel request does to a task in a given state. */
export type CancelEffect =
  /** Not started (queued or delayed): it is canceled now and never runs. */
  | 'cancel-now'
  /** Running: its attempt's signal is aborted; the task is recorded canceled when the attempt ends. */
  | 'abort-running'
  /** Already finished: nothing changes (the API answers 409 DROVER_ERR_TASK_FINISHED). */
  | 'finished';

export function cancelEffect(status: TaskStatus): CancelEffect {
  if (status === 'running') return 'abort-running';
  return TASK_MOVES[status].includes('canceled') ? 'cancel-now' : 'finished';
}
