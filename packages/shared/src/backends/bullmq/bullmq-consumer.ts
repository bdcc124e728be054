import { type ConnectionOptions, DelayedError, type Job, type MinimalJob, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { Attempt, type AttemptOutcome } from '../../attempt.js';
import type { ConsumeOptions, Consumer } from '../../backend.js';
import { backoffDelay } from '../../backoff.js';
import { IsoTimeMemo } from '../../iso-time.js';
import { SlotTable } from '../../slot-table.js';
import { decideAfterAttempt } from '../../task-rules.js';
import type { TaskRecord } from '../../task.js';
import type { ChildWait } from '../../suspend-signal.js';
import type { CancelRelay, RunningAttempts } from './cancel-relay.js';
import { CANCELED_REASON, type JobData, encodeTaskError, toDroverPriority } from './job-record.js';

export interface BullmqConsumerOptions extends ConsumeOptions {
  queue: string;
  prefix: string;
  connection: RedisOptions;
  relay: CancelRelay;
  /** Counts a task that ended canceled (BullMQ files it as failed). */
  countCanceled: (id: string) => Promise<unknown>;
  resultTtlSeconds: number;
  /** Records a suspended parent (waiting on `wait`) and moves its job to the delayed set. */
  suspend: (job: Job<JobData>, token: string | undefined, wakeAfterMs: number, wait: ChildWait) => Promise<void>;
  /** Writes a running job's progress while `token` holds its lock (fenced: see progress-script.ts). */
  progress: (jobId: string, token: string, value: unknown) => Promise<void>;
  /** A child's job finished (or failed an attempt): its parent may wake. */
  childEnded: (parentId: string, childId: string) => void;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  onError: (err: unknown) => void;
  onClosed: (consumer: BullmqConsumer) => void;
}

/** The backoff type Drover jobs carry; resolved by the strategy below on every worker. */
export const DROVER_BACKOFF = 'drover';

/**
 * One BullMQ Worker per consume() call. Handlers run through runAttempt, so timeout, cancel and
 * error classification match every other backend; the outcome is turned into what BullMQ
 * understands: a return value, an Error (retried with Drover's jittered backoff), an
 * UnrecoverableError (not retried), or moveToWait + WaitingError (put back, attempt not counted).
 */
export class BullmqConsumer implements Consumer {
  private readonly worker: Worker<JobData>;
  /** Attempts running now, so a close past its grace can interrupt them and cancels reach them. */
  private readonly attempts = new SlotTable<Attempt>();
  private readonly registration: RunningAttempts;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BullmqConsumerOptions) {
    const { queue, relay, handler } = options;
    this.registration = { attempts: this.attempts, keyPrefix: `${options.prefix}:${queue}:` };
    relay.register(this.registration);
    // Two parameters only: a third (the signal) would make BullMQ keep a controller per job.
    // Not an async function: one promise per job (the attempt's), not one per layer.
    const processor = (job: Job<JobData>, token?: string): Promise<unknown> => {
      if (relay.canceledEarly(job.id as string)) return Promise.reject(new UnrecoverableError(CANCELED_REASON));
      const attempt = new Attempt(taskFromJob(job, queue), handler, (value) =>
        token === undefined ? job.updateProgress(value as number | object) : options.progress(job.id as string, token, value),
      );
      const slot = this.attempts.add(attempt);
      return attempt.outcome.then((outcome) => {
        this.attempts.remove(slot);
        return settle(outcome, job, token);
      });
    };

    /**
     * The rules' decision on an attempt's outcome, told to BullMQ: a value, or an error it
     * classifies (a plain Error is retried by BullMQ, after the same backoffDelay() through the
     * backoff strategy below; UnrecoverableError is final). Not async: a returned value settles
     * the job's promise without another promise in between.
     */
    const settle = (outcome: AttemptOutcome, job: Job<JobData>, token: string | undefined): unknown => {
      // attemptsMade counts the attempts finished before this one; this one counts too. BullMQ
      // stores 0 attempts for "not set". The delay is BullMQ's to apply, so none is computed here.
      const decision = decideAfterAttempt(outcome, job.attemptsMade + 1, job.opts.attempts || 1, 0);
      switch (decision.kind) {
        case 'succeed':
          return outcome.kind === 'succeeded' ? outcome.output : null;
        case 'retry':
          throw new Error(encodeTaskError(decision.error));
        case 'fail':
          throw new UnrecoverableError(encodeTaskError(decision.error));
        case 'cancel':
          throw new UnrecoverableError(CANCELED_REASON);
        case 'suspend':
          // Delayed (its slot is free) until a child's finish promotes it. If the move fails the
          // job stays active and the stalled checker puts it back once its lock expires.
          return options
            .suspend(job, token, decision.wakeAfterMs, (outcome as Extract<AttemptOutcome, { kind: 'suspended' }>).wait)
            .catch(options.onError)
            .then(() => {
              throw new DelayedError();
            });
        case 'requeue':
          // Back to the queue now, and the attempt does not count. If that fails (Redis gone),
          // the job stays active and the stalled checker puts it back once its lock expires.
          return job
            .moveToWait(token)
            .catch(options.onError)
            .then(() => {
              throw new WaitingError();
            });
      }
    };

    // Crashed (SIGKILLed) workers: their lock expires after lockDuration and the stalled checker
    // of any live worker (every stalledInterval) puts the job back, so a lost job runs again
    // within about lockDuration + stalledInterval. maxStalledCount is DROVER_POISON_CRASHES - 1: the
    // crash after those quarantines the job (reported as DROVER_ERR_TASK_QUARANTINED) rather than
    // handing a poison task to worker after worker forever.
    this.worker = new Worker<JobData>(queue, processor, {
      connection: { ...options.connection, maxRetriesPerRequest: null } as ConnectionOptions,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      removeOnComplete: { age: options.resultTtlSeconds },
      removeOnFail: { age: options.resultTtlSeconds },
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob) =>
          backoffDelay(attemptsMade, (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 0),
      },
    });
    this.worker.on('error', options.onError);
    // Every way a running or re-queued task ends canceled goes through this worker's failure path
    // (the processor's canceled outcome, a cancel seen before the start, BullMQ's deferred failure
    // of a flagged job): count it where BullMQ's failed set cannot tell it apart.
    this.worker.on('completed', (job) => {
      if (job.data.parentId) options.childEnded(job.data.parentId, job.id as string);
    });
    this.worker.on('failed', (job, err) => {
      // Also on a failed attempt that is retried: the parent then wakes, finds the child
      // unfinished and suspends again, which is cheaper than telling the two apart here.
      if (job?.data.parentId) options.childEnded(job.data.parentId, job.id as string);
      if (job?.id === undefined || err?.message !== CANCELED_REASON) return;
      options.countCanceled(job.id).catch(options.onError);
    });
  }

  /** Resolves when the worker's connections are up and it is fetching. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  running(): number {
    return this.attempts.size;
  }

  close(graceMs = 0): Promise<void> {
    this.closing ??= (async () => {
      // Worker.close() stops fetching at once and waits for running jobs; past the grace period
      // running attempts are interrupted, which puts their tasks back in the queue.
      const timer = setTimeout(() => {
        for (const attempt of this.attempts.values()) attempt.interrupt();
      }, graceMs);
      try {
        await this.worker.close();
      } finally {
        clearTimeout(timer);
        this.options.relay.unregister(this.registration);
        this.options.onClosed(this);
      }
    })();
    return this.closing;
  }
}

const createdTimes = new IsoTimeMemo();
const startedTimes = new IsoTimeMemo();

/** The record a handler sees: the job as it is now, running its next attempt. */
function taskFromJob(job: Job<JobData>, queue: string): TaskRecord {
  const d = job.data;
  const record: TaskRecord = {
    id: job.id as string,
    type: job.name,
    queue,
    tenant: d.tenant,
    status: 'running',
    input: d.input ?? null,
    output: null,
    error: null,
    progress: job.progress === 0 && job.attemptsStarted <= 1 ? null : (job.progress ?? null),
    priority: toDroverPriority(job.priority),
    // Every start counts (a run lost with its worker, or interrupted by a shutdown, too), so a
    // handler can tell a first run from a repeat; maxAttempts bounds the failed ones (atm).
    attempt: job.attemptsStarted || job.attemptsMade + 1,
    maxAttempts: job.opts.attempts || 1, // BullMQ stores 0 for "not set"
    timeoutMs: d.timeoutMs,
    parentId: d.parentId ?? null,
    children: [],
    idempotencyKey: d.idempotencyKey ?? null,
    createdAt: createdTimes.iso(job.timestamp),
    startedAt: job.processedOn ? startedTimes.iso(job.processedOn) : null,
    finishedAt: null,
  };
  // Set only when present: the common record (tracing off) stays as it was, spread-free.
  if (d.traceparent) record.traceparent = d.traceparent;
  return record;
}
