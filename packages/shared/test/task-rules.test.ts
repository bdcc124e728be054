import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../src/attempt.js';
import { TASK_STATUSES } from '../src/task.js';
import { CANCELED_ERROR, MAX_WORKER_LOSSES, TASK_MOVES, canMove, cancelEffect, countsAgainstAttempts, decideAfterAttempt, rerunsAfterWorkerLoss, retryDelay } from '../src/task-rules.js';

const policy = { maxAttempts: 3, backoffMs: 1000 };
const failed = (retryable: boolean): AttemptOutcome => ({ kind: 'failed', error: { code: 'DROVER_ERR_TASK_FAILED', message: 'boom', retryable } });

/** The task's rules, which every backend decides with (their conformance suite checks the behaviour end to end). */
describe('the task rules', () => {
  it('finished states are final; every other state can be canceled or move on', () => {
    for (const s of TASK_STATUSES) expect(TASK_MOVES[s]).toBeDefined();
    for (const s of ['succeeded', 'failed', 'canceled'] as const) expect(TASK_MOVES[s]).toEqual([]);
    expect(canMove('queued', 'running')).toBe(true);
    expect(canMove('delayed', 'running')).toBe(false);
    expect(canMove('running', 'delayed')).toBe(true);
    expect(canMove('succeeded', 'queued')).toBe(false);
  });

  it('retries a retryable failure while attempts are left, with the backoff of the attempt that failed', () => {
    const first = decideAfterAttempt(failed(true), 1, policy);
    expect(first).toMatchObject({ kind: 'retry', error: { message: 'boom' } });
    const delay = (first as { delayMs: number }).delayMs;
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1000);
    expect(retryDelay(2, policy)).toBeGreaterThanOrEqual(1000);
    expect(retryDelay(2, policy)).toBeLessThanOrEqual(2000);
    expect(decideAfterAttempt(failed(true), 2, policy).kind).toBe('retry');
    expect(decideAfterAttempt(failed(true), 3, policy)).toMatchObject({ kind: 'fail', error: { message: 'boom' } });
  });

  it('never retries a failure that is not retryable, nor a task of one attempt', () => {
    expect(decideAfterAttempt(failed(false), 1, policy).kind).toBe('fail');
    expect(decideAfterAttempt(failed(true), 1, { maxAttempts: 1, backoffMs: 0 }).kind).toBe('fail');
  });

  it('succeeds, cancels, and puts an interrupted attempt back without counting it', () => {
    expect(decideAfterAttempt({ kind: 'succeeded', output: 1 }, 1, policy)).toEqual({ kind: 'succeed' });
    expect(decideAfterAttempt({ kind: 'canceled', error: CANCELED_ERROR }, 1, policy)).toEqual({ kind: 'cancel', error: CANCELED_ERROR });
    expect(decideAfterAttempt({ kind: 'interrupted' }, 3, policy)).toEqual({ kind: 'requeue' });
    expect(countsAgainstAttempts({ kind: 'interrupted' })).toBe(false);
    expect(countsAgainstAttempts(failed(true))).toBe(true);
  });

  it('cancel: now before the start, through the signal while running, nothing once finished', () => {
    expect(cancelEffect('queued')).toBe('cancel-now');
    expect(cancelEffect('delayed')).toBe('cancel-now');
    expect(cancelEffect('running')).toBe('abort-running');
    for (const s of ['succeeded', 'failed', 'canceled'] as const) expect(cancelEffect(s)).toBe('finished');
  });

  it('a task survives MAX_WORKER_LOSSES lost workers, and fails on the next', () => {
    expect(MAX_WORKER_LOSSES).toBe(2);
    expect(rerunsAfterWorkerLoss(1)).toBe(true);
    expect(rerunsAfterWorkerLoss(2)).toBe(true);
    expect(rerunsAfterWorkerLoss(3)).toBe(false);
  });
});
