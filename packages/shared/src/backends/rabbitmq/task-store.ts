import type { ChainableCommander, Redis } from 'ioredis';
import type { ListPage, ListQuery, QueueCounts, TaskTypeInfo, WorkerInfo } from '../../backend.js';
import { decodeCursor, encodeCursor } from '../../cursor.js';
import { DroverError } from '../../errors.js';
import type { TaskError, TaskRecord, TaskStatus } from '../../task.js';
import { storedJson } from '../../stored-json.js';
import type { TaskKeys } from './task-keys.js';
import * as scripts from './task-scripts.js';
import { ChildWaits } from '../child-wait.js';
import { CANCELED_ERROR as CANCELED_RULE_ERROR, QUARANTINED_ERROR as QUARANTINED_RULE_ERROR, workerLossesTolerated } from '../../task-rules.js';

/** The fields of a task that never change after submit, stored as one JSON string. */
export interface StaticFields {
  type: string;
  queue: string;
  tenant: string;
  input: unknown;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  backoffMs: number;
  parentId: string | null;
  idempotencyKey: string | null;
  createdAt: string;
  /** W3C traceparent of the submitting span, when tracing is on. */
  traceparent?: string;
}

export interface NewTask {
  id: string;
  fields: StaticFields;
  fingerprint: string;
  delayMs: number;
}

export type SubmitOutcome = { created: true; id: string } | { created: false; id: string; fingerprint: string };

/** One due outbox entry the relay must publish. */
/** A task message to publish: which task, which generation, at what priority, in whose lane. */
export interface Claim {
  id: string;
  gen: number;
  priority: number;
  /** '' for a record written before lanes existed: published to the bare queue. */
  tenant: string;
}

export interface FinishedAttempt {
  id: string;
  token: string;
  status: 'succeeded' | 'failed' | 'canceled';
  output: unknown;
  error: TaskError | null;
}

export interface RunningTask {
  record: TaskRecord;
  gen: number;
  backoffMs: number;
  /** Attempts that count against maxAttempts (record.attempt counts every run started). */
  counted: number;
}

/** Retained finished tasks, one sorted set each (score = finish time). */
const FINISHED = ['succeeded', 'failed', 'canceled'] as const;

// The rules' errors, as the scripts store them.
const CANCELED_ERROR = JSON.stringify(CANCELED_RULE_ERROR);
const QUARANTINED_ERROR = JSON.stringify(QUARANTINED_RULE_ERROR);
/** How long a freshly submitted task waits in the outbox before the relay re-publishes it. */
export const OUTBOX_GRACE_MS = 5000;

type Script = (...args: Array<string | number>) => Promise<unknown>;
type Scripts = Record<'drvSubmit' | 'drvStart' | 'drvFinish' | 'drvRetry' | 'drvSuspend' | 'drvWake' | 'drvRequeue' | 'drvCancel' | 'drvDiscard' | 'drvProgress' | 'drvRenew' | 'drvRelayClaim' | 'drvRelayDone', Script>;

/**
 * The Redis half of the rabbitmq backend: task records, idempotency keys, the delay schedule,
 * the outbox of unconfirmed publishes, running leases, finished indexes, events, workers.
 * The broker only carries "run task <id> (generation g)"; every decision is made here.
 */
export class TaskStore {
  private readonly redis: Redis & Scripts;
  /** What suspended parents wait on (see ChildWaits). */
  readonly waits: ChildWaits;

  constructor(
    redis: Redis,
    readonly keys: TaskKeys,
    private readonly resultTtlSeconds: number,
    /** Lost workers (lease expired mid-run) a task survives; one more quarantines it. */
    private readonly maxWorkerLosses = workerLossesTolerated(),
  ) {
    const define = (name: keyof Scripts, numberOfKeys: number, lua: string) => {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    };
    this.waits = new ChildWaits(redis, keys.base, (resultTtlSeconds + 3600) * 1000);
    define('drvSubmit', 6, scripts.SUBMIT);
    define('drvStart', 3, scripts.START);
    define('drvFinish', 4, scripts.FINISH);
    define('drvRetry', 3, scripts.RETRY);
    define('drvSuspend', 3, scripts.SUSPEND);
    define('drvWake', 2, scripts.WAKE);
    define('drvRequeue', 2, scripts.REQUEUE);
    define('drvCancel', 5, scripts.CANCEL);
    define('drvDiscard', 5, scripts.DISCARD);
    define('drvProgress', 1, scripts.PROGRESS);
    define('drvRenew', 1, scripts.RENEW);
    define('drvRelayClaim', 6, scripts.RELAY_CLAIM);
    define('drvRelayDone', 1, scripts.RELAY_DONE);
    this.redis = redis as Redis & Scripts;
  }

  /** Writes records (and the outbox entries of ready ones) in one round trip, in order. */
  async submit(tasks: NewTask[], now: number): Promise<SubmitOutcome[]> {
    const k = this.keys;
    const pipe = this.redis.pipeline() as ChainableCommander & Scripts;
    for (const t of tasks) {
      const f = t.fields;
      const delayed = t.delayMs > 0;
      pipe.drvSubmit(
        k.record(t.id),
        f.idempotencyKey ? k.idempotency(f.tenant, f.queue, f.idempotencyKey) : k.record(t.id),
        k.seq,
        k.index,
        k.delayed(f.queue),
        k.outbox(f.queue),
        t.id,
        storedJson(f),
        t.fingerprint,
        delayed ? 'delayed' : 'queued',
        delayed ? now + t.delayMs : now + OUTBOX_GRACE_MS,
        now,
        f.idempotencyKey ? '1' : '0',
        f.parentId ?? '',
        k.recordPrefix,
        k.events,
        f.queue,
        f.priority,
        f.tenant,
      );
    }
    const replies = await exec(pipe);
    return replies.map((r) => {
      const [created, id, fingerprint] = r as [number, string, string | undefined];
      return created === 1 ? { created: true, id } : { created: false, id, fingerprint: fingerprint ?? '' };
    });
  }

  /** The broker confirmed these messages: their outbox entries are done. */
  async published(queue: string, claims: Array<{ id: string; gen: number }>): Promise<void> {
    if (claims.length === 0) return;
    const args: Array<string | number> = [this.keys.recordPrefix];
    for (const c of claims) args.push(c.id, c.gen);
    await this.redis.drvRelayDone(this.keys.outbox(queue), ...args);
  }

  /** Undoes a submit whose publish failed before the caller heard of the task. */
  async abandon(tasks: NewTask[]): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const t of tasks) {
      const f = t.fields;
      pipe.del(this.keys.record(t.id));
      pipe.zrem(this.keys.index, t.id);
      pipe.zrem(this.keys.outbox(f.queue), t.id);
      if (f.idempotencyKey) pipe.del(this.keys.idempotency(f.tenant, f.queue, f.idempotencyKey));
    }
    await exec(pipe);
  }

  async get(id: string): Promise<TaskRecord | null> {
    const h = await this.redis.hgetall(this.keys.record(id));
    return h['d'] ? toRecord(id, h) : null;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const after = query.cursor === undefined ? 0 : Number(decodeCursor(query.cursor, ['s'])['s']);
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new DroverError('BAD_CURSOR', 'The cursor is not one this server issued; pass nextCursor from a previous page unchanged.');
    }
    const items: TaskRecord[] = [];
    const chunk = Math.max(100, query.limit * 2);
    let last = after;
    // Bounded scan: a page may hold fewer than `limit` items when filters skip many records.
    for (let scanned = 0; scanned < 20_000 && items.length < query.limit; scanned += chunk) {
      const raw = await this.redis.zrangebyscore(this.keys.index, `(${last}`, '+inf', 'WITHSCORES', 'LIMIT', 0, chunk);
      if (raw.length === 0) return { items, nextCursor: null };
      const pipe = this.redis.pipeline();
      for (let i = 0; i < raw.length; i += 2) pipe.hgetall(this.keys.record(raw[i]!));
      const hashes = (await exec(pipe)) as Array<Record<string, string>>;
      const gone: string[] = [];
      for (let i = 0; i < hashes.length; i++) {
        const id = raw[i * 2]!;
        const h = hashes[i]!;
        last = Number(raw[i * 2 + 1]);
        if (!h['d']) {
          gone.push(id);
          continue;
        }
        const r = toRecord(id, h);
        if (matches(r, query)) items.push(r);
        if (items.length === query.limit) break;
      }
      if (gone.length > 0) await this.redis.zrem(this.keys.index, ...gone); // expired records
      if (raw.length < chunk * 2 && items.length < query.limit) return { items, nextCursor: null };
    }
    const more = (await this.redis.zcount(this.keys.index, `(${last}`, '+inf')) > 0;
    return { items, nextCursor: more ? encodeCursor({ s: String(last) }) : null };
  }

  /** Removes a finished task's record, its idempotency key and its index entries; false if not finished. */
  async discard(id: string, queue: string): Promise<boolean> {
    const k = this.keys;
    const removed = await this.redis.drvDiscard(k.record(id), k.index, k.finished(queue, 'succeeded'), k.finished(queue, 'failed'), k.finished(queue, 'canceled'), id);
    return removed === 1;
  }

  /** Status after the call, or null for an unknown task. */
  async cancel(id: string, queue: string, now: number): Promise<TaskStatus | null> {
    const k = this.keys;
    const s = await this.redis.drvCancel(
      k.record(id),
      k.delayed(queue),
      k.outbox(queue),
      k.finished(queue, 'canceled'),
      k.waiting(queue),
      id,
      now,
      new Date(now).toISOString(),
      CANCELED_ERROR,
      this.resultTtlSeconds,
      k.events,
      k.control,
      queue,
    );
    return (s as TaskStatus | null) ?? null;
  }

  async queueOf(id: string): Promise<string | null> {
    const d = await this.redis.hget(this.keys.record(id), 'd');
    return d ? (JSON.parse(d) as StaticFields).queue : null;
  }

  /** Claims delivered tasks for these attempts (one round trip); null means drop that message. */
  async start(queue: string, deliveries: ReadonlyArray<{ id: string; gen: number; token: string }>, leaseUntil: number, now: number): Promise<Array<RunningTask | null>> {
    const k = this.keys;
    const startedAt = new Date(now).toISOString();
    const args: Array<string | number> = [now, leaseUntil, startedAt, k.events, queue, k.recordPrefix, this.maxWorkerLosses, QUARANTINED_ERROR, this.resultTtlSeconds, CANCELED_ERROR];
    for (const d of deliveries) args.push(d.id, d.gen, d.token);
    // Six values per delivery: d, n, c, p, e, a (d null: drop it).
    const flat = (await this.redis.drvStart(k.running(queue), k.finished(queue, 'failed'), k.finished(queue, 'canceled'), ...args)) as Array<string | number | null>;
    const out: Array<RunningTask | null> = [];
    for (let i = 0; i < deliveries.length; i++) {
      const at = i * 6;
      const d = flat[at] as string | null;
      if (d === null) {
        out.push(null);
        continue;
      }
      const delivery = deliveries[i]!;
      const f = JSON.parse(d) as StaticFields;
      const record: TaskRecord = {
        id: delivery.id,
        type: f.type,
        queue: f.queue,
        tenant: f.tenant,
        status: 'running',
        input: f.input,
        output: null,
        error: parseJson(flat[at + 4]) as TaskError | null,
        progress: parseJson(flat[at + 3]),
        priority: f.priority,
        attempt: Number(flat[at + 1]),
        maxAttempts: f.maxAttempts,
        timeoutMs: f.timeoutMs,
        parentId: f.parentId,
        children: childrenOf(flat[at + 2]),
        idempotencyKey: f.idempotencyKey,
        createdAt: f.createdAt,
        startedAt,
        finishedAt: null,
      };
      if (f.traceparent) record.traceparent = f.traceparent;
      out.push({ record, gen: delivery.gen, backoffMs: f.backoffMs, counted: Number(flat[at + 5]) });
    }
    return out;
  }

  /** Records outcomes (one round trip); false for an attempt whose run token is stale. */
  async finish(queue: string, outcomes: ReadonlyArray<FinishedAttempt>): Promise<boolean[]> {
    const k = this.keys;
    const now = Date.now();
    const args: Array<string | number> = [new Date(now).toISOString(), now, this.resultTtlSeconds, k.events, queue, k.recordPrefix];
    for (const o of outcomes) {
      args.push(o.id, o.token, o.status, o.status === 'succeeded' ? JSON.stringify(o.output ?? null) : '', o.error ? JSON.stringify(o.error) : '');
    }
    const replies = (await this.redis.drvFinish(k.running(queue), k.finished(queue, 'succeeded'), k.finished(queue, 'failed'), k.finished(queue, 'canceled'), ...args)) as number[];
    return replies.map((r) => r === 1);
  }

  async retry(task: TaskRecord, token: string, error: TaskError, delayMs: number): Promise<boolean> {
    const k = this.keys;
    const now = Date.now();
    const r = await this.redis.drvRetry(k.record(task.id), k.running(task.queue), k.delayed(task.queue), task.id, token, JSON.stringify(error), now + delayMs, now, k.events, task.queue);
    return r === 1;
  }

  async suspend(task: TaskRecord, token: string, wakeAfterMs: number): Promise<boolean> {
    const k = this.keys;
    const now = Date.now();
    const r = await this.redis.drvSuspend(k.record(task.id), k.running(task.queue), k.waiting(task.queue), task.id, token, now + wakeAfterMs, now, k.events, task.queue);
    return r === 1;
  }

  /** A child ended: its parent, if suspended, comes due now if that child completed its wait. */
  async childEnded(parentId: string, childId: string): Promise<void> {
    if (await this.waits.crossOff(parentId, childId)) await this.wake(parentId);
  }

  /** A suspended parent comes due now. */
  async wake(id: string): Promise<void> {
    const queue = await this.queueOf(id);
    if (queue) await this.redis.drvWake(this.keys.record(id), this.keys.waiting(queue), id, Date.now());
  }

  async requeue(task: TaskRecord, token: string): Promise<boolean> {
    const k = this.keys;
    const r = await this.redis.drvRequeue(k.record(task.id), k.running(task.queue), task.id, token, Date.now(), k.events, task.queue);
    return r === 1;
  }

  async progress(task: TaskRecord, token: string, value: unknown): Promise<void> {
    const k = this.keys;
    await this.redis.drvProgress(k.record(task.id), task.id, token, JSON.stringify(value ?? null), Date.now(), k.events, task.queue);
  }

  /** Extends leases; returns the ids whose cancel was requested. */
  async renew(queue: string, ids: string[], leaseUntil: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.redis.drvRenew(this.keys.running(queue), leaseUntil, this.keys.recordPrefix, ...ids)) as string[];
  }

  async relayClaim(queue: string, now: number, leaseMs: number, limit: number): Promise<{ nextDue: number; claims: Claim[] }> {
    const k = this.keys;
    const flat = (await this.redis.drvRelayClaim(
      k.delayed(queue),
      k.outbox(queue),
      k.running(queue),
      k.finished(queue, 'failed'),
      k.finished(queue, 'canceled'),
      k.waiting(queue),
      now,
      leaseMs,
      limit,
      k.recordPrefix,
      k.events,
      queue,
      this.maxWorkerLosses,
      new Date(now).toISOString(),
      QUARANTINED_ERROR,
      this.resultTtlSeconds,
      CANCELED_ERROR,
    )) as Array<
      string | number
    >;
    const claims: Claim[] = [];
    for (let i = 1; i + 3 < flat.length; i += 4) claims.push({ id: String(flat[i]), gen: Number(flat[i + 1]), priority: Number(flat[i + 2]), tenant: String(flat[i + 3]) });
    return { nextDue: Number(flat[0]), claims };
  }

  /** Every count except `queued`, which the broker knows. */
  async stateCounts(queue: string): Promise<Omit<QueueCounts, 'queued' | 'oldestQueuedAt'>> {
    const k = this.keys;
    const horizon = Date.now() - this.resultTtlSeconds * 1000;
    const pipe = this.redis.pipeline();
    for (const outcome of FINISHED) pipe.zremrangebyscore(k.finished(queue, outcome), '-inf', `(${horizon}`);
    pipe.zcard(k.delayed(queue));
    pipe.zcard(k.running(queue));
    for (const outcome of FINISHED) pipe.zcard(k.finished(queue, outcome));
    pipe.sismember(k.paused, queue);
    pipe.zcard(k.waiting(queue));
    const r = (await exec(pipe)) as number[];
    return { delayed: r[3]!, running: r[4]!, succeeded: r[5]!, failed: r[6]!, canceled: r[7]!, paused: r[8] === 1, waiting: r[9]! };
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    const pipe = this.redis.pipeline();
    if (paused) pipe.sadd(this.keys.paused, queue);
    else pipe.srem(this.keys.paused, queue);
    pipe.publish(this.keys.control, `${paused ? 'pause' : 'resume'}|${queue}`);
    await exec(pipe);
  }

  /** Records tenants' lanes of a queue and tells the queue's consumers, so they consume the new ones. */
  async addLanes(queue: string, tenants: readonly string[]): Promise<void> {
    await exec(this.redis.pipeline().sadd(this.keys.lanes(queue), ...tenants).publish(this.keys.control, `lanes|${queue}`));
  }

  async lanes(queue: string): Promise<string[]> {
    return this.redis.smembers(this.keys.lanes(queue));
  }

  async isPaused(queue: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.paused, queue)) === 1;
  }

  async heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void> {
    await exec(this.redis.pipeline().zadd(this.keys.workers, Date.now() + ttlMs, worker.id).hset(this.keys.workerInfo, worker.id, JSON.stringify(worker)));
  }

  async removeWorker(id: string): Promise<void> {
    await exec(this.redis.pipeline().zrem(this.keys.workers, id).hdel(this.keys.workerInfo, id));
  }

  async workers(): Promise<WorkerInfo[]> {
    const now = Date.now();
    const expired = await this.redis.zrangebyscore(this.keys.workers, '-inf', now);
    if (expired.length > 0) await exec(this.redis.pipeline().zrem(this.keys.workers, ...expired).hdel(this.keys.workerInfo, ...expired));
    const ids = await this.redis.zrange(this.keys.workers, 0, -1);
    if (ids.length === 0) return [];
    const infos = await this.redis.hmget(this.keys.workerInfo, ...ids);
    return infos.filter((s): s is string => s !== null).map((s) => JSON.parse(s) as WorkerInfo);
  }

  async registerTaskTypes(types: TaskTypeInfo[]): Promise<void> {
    if (types.length === 0) return;
    await this.redis.hset(this.keys.types, Object.fromEntries(types.map((t) => [t.name, JSON.stringify(t)])));
  }

  async taskTypes(): Promise<TaskTypeInfo[]> {
    return (await this.redis.hvals(this.keys.types)).map((s) => JSON.parse(s) as TaskTypeInfo);
  }
}

function toRecord(id: string, h: Record<string, string>): TaskRecord {
  return recordOf(id, JSON.parse(h['d']!) as StaticFields, h);
}

function parseJson(v: string | number | null | undefined): unknown {
  return typeof v === 'string' && v !== '' ? (JSON.parse(v) as unknown) : null;
}

function childrenOf(c: string | number | null | undefined): string[] {
  return typeof c === 'string' && c !== '' ? c.split(',') : [];
}

function recordOf(id: string, d: StaticFields, h: Record<string, string>): TaskRecord {
  return {
    id,
    type: d.type,
    queue: d.queue,
    tenant: d.tenant,
    status: h['s'] as TaskStatus,
    input: d.input,
    output: parseJson(h['o']),
    error: parseJson(h['e']) as TaskError | null,
    progress: parseJson(h['p']),
    priority: d.priority,
    // Runs started ('n'); records written before it existed have only the counted attempts.
    attempt: Number(h['n'] ?? h['a'] ?? 0),
    maxAttempts: d.maxAttempts,
    timeoutMs: d.timeoutMs,
    parentId: d.parentId,
    children: childrenOf(h['c']),
    idempotencyKey: d.idempotencyKey,
    createdAt: d.createdAt,
    startedAt: h['st'] || null,
    finishedAt: h['ft'] || null,
    ...(d.traceparent ? { traceparent: d.traceparent } : {}),
  };
}

function matches(r: TaskRecord, q: ListQuery): boolean {
  return (!q.tenant || r.tenant === q.tenant) && (!q.queue || r.queue === q.queue) && (!q.status || r.status === q.status) && (!q.type || r.type === q.type);
}

/** Runs a pipeline and throws the first command error instead of returning it. */
async function exec(pipe: ChainableCommander): Promise<unknown[]> {
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
