import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../src/attempt.js';
import { TASK_STATUSES } from '../src/task.js';
import { CANCELED_ERROR, DEFAULT_POISON_CRASHES, TASK_MOVES, cancelEffect, decideAfterAttempt, workerLossesTolerated } from '../src/task-rules.js';

const [maxAttempts, backoffMs] = [3, 1000];
const failed = (retryable: boolean): AttemptOutcome => ({ kind: 'failed', error: { code: 'DROVER_ERR_TASK_FAILED', message: 'boom', retryable } });

/** The task's rules, which every backend decides with (their conformance suite checks the behaviour end to end). */
describe('the task rules', () => {
  it('finished states are final; every other state can be canceled or move on', () => {
    for (const s of TASK_STATUSES) expect(TASK_MOVES[s]).toBeDefined();
    for (const s of ['succeeded', 'failed', 'canceled'] as const) expect(TASK_MOVES[s]).toEqual([]);
    expect(TASK_MOVES.queued.includes('running')).toBe(true);
    expect(TASK_MOVES.delayed.includes('running')).toBe(false);
    expect(TASK_MOVES.running.includes('delayed')).toBe(true);
    expect(TASK_MOVES.succeeded.includes('queued')).toBe(false);
  });

  it('retries a retryable failure while attempts are left, with the backoff of the attempt that failed', () => {
    const first = decideAfterAttempt(failed(true), 1, maxAttempts, backoffMs);
    expect(first).toMatchObject({ kind: 'retry', error: { message: 'boom' } });
    const delay = (first as { delayMs: number }).delayMs;
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1000);
    const second = decideAfterAttempt(failed(true), 2, maxAttempts, backoffMs) as { delayMs: number };
    expect(second.delayMs).toBeGreaterThanOrEqual(1000);
    expect(second.delayMs).toBeLessThanOrEqual(2000);
    expect(decideAfterAttempt(failed(true), 2, maxAttempts, backoffMs).kind).toBe('retry');
    expect(decideAfterAttempt(failed(true), 3, maxAttempts, backoffMs)).toMatchObject({ kind: 'fail', error: { message: 'boom' } });
  });

  it('never retries a failure that is not retryable, nor a task of one attempt', () => {
    expect(decideAfterAttempt(failed(false), 1, maxAttempts, backoffMs).kind).toBe('fail');
    expect(decideAfterAttempt(failed(true), 1, 1, 0).kind).toBe('fail');
  });

  it('succeeds, cancels, and puts an interrupted attempt back without counting it', () => {
    expect(decideAfterAttempt({ kind: 'succeeded', output: 1 }, 1, maxAttempts, backoffMs)).toEqual({ kind: 'succeed' });
    expect(decideAfterAttempt({ kind: 'canceled', error: CANCELED_ERROR }, 1, maxAttempts, backoffMs)).toEqual({ kind: 'cancel', error: CANCELED_ERROR });
    expect(decideAfterAttempt({ kind: 'interrupted' }, 3, maxAttempts, backoffMs)).toEqual({ kind: 'requeue' });
  });

  it('cancel: now before the start, through the signal while running, nothing once finished', () => {
    expect(cancelEffect('queued')).toBe('cancel-now');
    expect(cancelEffect('delayed')).toBe('cancel-now');
    expect(cancelEffect('running')).toBe('abort-running');
    for (const s of ['succeeded', 'failed', 'canceled'] as const) expect(cancelEffect(s)).toBe('finished');
  });

  it('a task survives every crash of its worker but the DROVER_POISON_CRASHES-th (the scripts\' limit; test/e2e/poison tests the behaviour)', () => {
    expect(DEFAULT_POISON_CRASHES).toBe(3);
    expect(workerLossesTolerated()).toBe(2);
    expect(workerLossesTolerated(1)).toBe(0); // the first crash quarantines
    expect(workerLossesTolerated(10)).toBe(9);
  });
});
