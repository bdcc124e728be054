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
  // A parent suspended until its children finish (it holds no worker slot); woken when one
  // finishes, or after RESUME_CHECK_MS at the latest.
  waiting: ['queued', 'canceled'],
  // An attempt ends: done, failed for good, canceled, retried later (delayed), suspended on its
  // children (waiting), or put back (queued: interrupted by a shutdown, or its worker was lost).
  running: ['succeeded', 'failed', 'canceled', 'delayed', 'waiting', 'queued'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export const CANCELED_ERROR: TaskError = Object.freeze({ code: 'DROVER_ERR_TASK_CANCELED', message: 'Task was canceled.', retryable: false });

/**
 * A poison task: its runs took their worker process down (exit, OOM, SIGKILL) DROVER_POISON_CRASHES
 * times, so it is failed for good instead of being handed to the next worker. Not retryable: only
 * an explicit retry (dead letters) runs it again, once the cause is fixed.
 */
export const QUARANTINED_ERROR: TaskError = Object.freeze({
  code: 'DROVER_ERR_TASK_QUARANTINED',
  message: 'Quarantined as a poison task: its runs were lost with their worker process (exit, OOM, SIGKILL) DROVER_POISON_CRASHES times, so it is not run again.',
  retryable: false,
});

/** The default of DROVER_POISON_CRASHES: the crash that quarantines a task. */
export const DEFAULT_POISON_CRASHES = 3;

/**
 * Workers a task may lose mid-run (crash, OOM, SIGKILL: its lock or lease expires) and still run
 * again: every crash but the one that quarantines it (QUARANTINED_ERROR). A loss is not the
 * handler's failure, so it does not count against maxAttempts. The loss is found inside atomic
 * scripts, which take this limit as an argument: BullMQ's stalled checker (maxStalledCount) and
 * the rabbitmq backend's START and END_IF_LOST scripts.
 */
export function workerLossesTolerated(poisonCrashes: number = DEFAULT_POISON_CRASHES): number {
  return Math.max(0, poisonCrashes - 1);
}

/**
 * A suspended parent runs again at the latest this long after it suspended, even if no child's
 * finish woke it (a wake lost with a crashed worker): a backstop, not the usual path.
 */
export const RESUME_CHECK_MS = 5000;

/** What to do with a task once one of its attempts has ended. */
export type AttemptDecision =
  | { kind: 'succeed' }
  | { kind: 'cancel'; error: TaskError }
  /** Put back at the front of the queue now; the attempt does not count. */
  | { kind: 'requeue' }
  | { kind: 'retry'; error: TaskError; delayMs: number }
  /** Suspended on its children: waiting, woken by a child's finish; the attempt does not count. */
  | { kind: 'suspend'; wakeAfterMs: number }
  | { kind: 'fail'; error: TaskError };

const SUCCEED: AttemptDecision = Object.freeze({ kind: 'succeed' });
const REQUEUE: AttemptDecision = Object.freeze({ kind: 'requeue' });
const SUSPEND: AttemptDecision = Object.freeze({ kind: 'suspend', wakeAfterMs: RESUME_CHECK_MS });

/**
 * The decision after an attempt. Attempt counting: `record.attempt` counts every run started (so
 * a handler can tell a first run from a repeat), while `counted` is the runs that count against
 * maxAttempts, including this one (1 after the first): a run a shutdown interrupted ('requeue')
 * or whose worker was lost does not count. A failure is retried, after backoffDelay(counted,
 * backoffMs), when its error is retryable and attempts are left; otherwise it is final. On the
 * hot path (success) this allocates nothing.
 */
export function decideAfterAttempt(outcome: AttemptOutcome, counted: number, maxAttempts: number, backoffMs: number): AttemptDecision {
  switch (outcome.kind) {
    case 'succeeded':
      return SUCCEED;
    case 'interrupted':
      return REQUEUE;
    case 'suspended':
      return outcome.wait.delayMs === undefined ? SUSPEND : { kind: 'suspend', wakeAfterMs: outcome.wait.delayMs };
    case 'canceled':
      return { kind: 'cancel', error: outcome.error };
    case 'failed':
      if (outcome.error.retryable && counted < maxAttempts) return { kind: 'retry', error: outcome.error, delayMs: backoffDelay(counted, backoffMs) };
      return { kind: 'fail', error: outcome.error };
  }
}

/** What a cancel request does to a task in a given state. */
export type CancelEffect =
  /** Not started (queued or delayed) or suspended (waiting): it is canceled now and never runs again. */
  | 'cancel-now'
  /** Running: its attempt's signal is aborted; the task is recorded canceled when the attempt ends. */
  | 'abort-running'
  /** Already finished: nothing changes (the API answers 409 DROVER_ERR_TASK_FINISHED). */
  | 'finished';

export function cancelEffect(status: TaskStatus): CancelEffect {
  if (status === 'running') return 'abort-running';
  return TASK_MOVES[status].includes('canceled') ? 'cancel-now' : 'finished';
}
