import type { TaskError, TaskRecord, TaskStatus } from '../../task.js';
import { CANCELED_ERROR, QUARANTINED_ERROR } from '../../task-rules.js';

/**
 * The BullMQ job is the task record: its name is the task type, its data carries the input and
 * the Drover fields BullMQ has no slot for, and everything else (priority, attempts and backoff
 * in opts, timestamps, result, progress) comes from BullMQ's own job fields. Nothing is stored
 * twice.
 */
export interface JobData {
  input: unknown;
  tenant: string;
  timeoutMs: number;
  /** Present only when set, to keep the common job small. */
  idempotencyKey?: string;
  fingerprint?: string;
  parentId?: string;
  /** W3C traceparent of the submitting span, when tracing is on. */
  traceparent?: string;
  /** Random per submission: tells the winner of a same-key race from the losers. */
  nonce?: string;
}

/** BullMQ state names, as returned by the set a job was found in. */
export type JobState = 'waiting' | 'prioritized' | 'delayed' | 'suspended' | 'active' | 'completed' | 'failed';

/**
 * Rounds of fair dispatch per Drover priority band in BullMQ's priority space (1 .. 2^21, 1 the
 * highest): 11 bands of 190,000 rounds. A queue that stays non-empty for more rounds than that
 * serves the rest of its band FIFO (the round is capped), which a DROVER_MAX_BACKLOG of 100,000
 * keeps out of reach unless a queue never drains.
 */
export const FAIR_ROUNDS = 190_000;

/**
 * A Drover priority (10 first .. 0 last) and a fair-dispatch round (add-script.ts) as a BullMQ
 * priority: band (10 - priority) × FAIR_ROUNDS + round + 1. Order: higher Drover priority first,
 * then the lower round, then submission order. Delayed jobs and retries take round 0 (the front
 * of their band) when they come due.
 */
export function toBullmqPriority(priority: number, round = 0): number {
  return 1 + (10 - priority) * FAIR_ROUNDS + Math.min(round, FAIR_ROUNDS - 1);
}

/** The inverse, from BullMQ's own priority field (0 or absent: the plain wait list, priority 10). */
export function toDroverPriority(bullmqPriority: number | undefined): number {
  if (!bullmqPriority) return 10;
  return 10 - Math.floor((bullmqPriority - 1) / FAIR_ROUNDS);
}

/** failedReason holds the TaskError as JSON, so code and retryable survive the round trip. */
export function encodeTaskError(error: TaskError): string {
  return JSON.stringify({ code: error.code, message: error.message, retryable: error.retryable });
}

export function decodeTaskError(failedReason: string | undefined): TaskError | null {
  if (!failedReason) return null;
  if (failedReason.startsWith('{"code":')) {
    try {
      return JSON.parse(failedReason) as TaskError;
    } catch {
      // fall through: a reason someone else wrote
    }
  }
  // Written by BullMQ itself: the stalled checker gave up on a job whose workers kept dying.
  if (/stalled/i.test(failedReason)) return { ...QUARANTINED_ERROR };
  return { code: 'DROVER_ERR_TASK_FAILED', message: failedReason, retryable: false };
}

export const CANCELED_CODE = CANCELED_ERROR.code;
export const CANCELED_REASON = encodeTaskError(CANCELED_ERROR);

/** The raw job hash as HGETALL returns it. */
export type JobHash = Record<string, string>;

/** The hash fields list() and get() need (HMGET order). */
export const JOB_FIELDS = ['name', 'data', 'opts', 'priority', 'timestamp', 'processedOn', 'finishedOn', 'returnvalue', 'failedReason', 'atm', 'progress', 'ats'] as const;

export function hashFromFields(values: Array<string | null>): JobHash | null {
  if (values[0] == null) return null;
  const hash: JobHash = {};
  JOB_FIELDS.forEach((f, i) => {
    const v = values[i];
    if (v != null) hash[f] = v;
  });
  return hash;
}

/** Maps a stored job (hash fields + the set it sits in) to a TaskRecord. */
export function recordFromHash(id: string, queue: string, hash: JobHash, state: JobState, children: string[]): TaskRecord {
  const data = JSON.parse(hash.data ?? '{}') as JobData;
  const opts = JSON.parse(hash.opts ?? '{}') as { attempts?: number };
  const attemptsMade = Number(hash.atm ?? 0);
  const error = decodeTaskError(hash.failedReason);
  let status: TaskStatus;
  switch (state) {
    case 'completed':
      status = 'succeeded';
      break;
    case 'failed':
      status = error?.code === CANCELED_CODE ? 'canceled' : 'failed';
      break;
    case 'delayed':
      status = 'delayed';
      break;
    case 'suspended':
      status = 'waiting';
      break;
    case 'active':
      status = 'running';
      break;
    default:
      status = 'queued';
  }
  const processedOn = hash.processedOn;
  const finishedOn = hash.finishedOn;
  return {
    id,
    type: hash.name ?? '',
    queue,
    tenant: data.tenant,
    status,
    input: data.input ?? null,
    output: status === 'succeeded' && hash.returnvalue !== undefined ? (JSON.parse(hash.returnvalue) ?? null) : null,
    error: status === 'succeeded' ? null : error,
    progress: hash.progress === undefined ? null : (JSON.parse(hash.progress) ?? null),
    priority: toDroverPriority(Number(hash.priority ?? 0)),
    // Runs started (ats), so a rerun after a lost worker shows as the next attempt; older jobs
    // without it fall back to the attempts made. A quarantined job was failed by BullMQ's
    // deferred failure, which counts one more start that never ran the handler.
    attempt: hash.ats !== undefined ? Number(hash.ats) - (status === 'failed' && error?.code === QUARANTINED_ERROR.code ? 1 : 0) : status === 'running' ? attemptsMade + 1 : attemptsMade,
    maxAttempts: opts.attempts || 1, // BullMQ stores 0 for "not set"
    timeoutMs: data.timeoutMs,
    parentId: data.parentId ?? null,
    children,
    idempotencyKey: data.idempotencyKey ?? null,
    createdAt: new Date(Number(hash.timestamp)).toISOString(),
    startedAt: processedOn ? new Date(Number(processedOn)).toISOString() : null,
    finishedAt: finishedOn && (status === 'succeeded' || status === 'failed' || status === 'canceled') ? new Date(Number(finishedOn)).toISOString() : null,
    ...(data.traceparent ? { traceparent: data.traceparent } : {}),
  };
}
