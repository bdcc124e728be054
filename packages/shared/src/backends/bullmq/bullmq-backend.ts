import { createHash, randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { RedisAgentPermits } from '../../agent-permits.js';
import { RedisScheduleStore } from '../../schedule-store.js';
import { RedisLeaderLease } from '../../leader-lease.js';
import { RedisRateWindows } from '../../rate-window.js';
import { ChildWaits } from '../child-wait.js';
import { runFencedProgress } from './progress-script.js';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  Backend,
  ConsumeOptions,
  Consumer,
  ListPage,
  ListQuery,
  QueueCounts,
  TaskEvent,
  TaskLogLine,
  TaskRef,
  TaskTypeInfo,
  WorkerInfo,
} from '../../backend.js';
import { DroverError } from '../../errors.js';
import { isoTime } from '../../iso-time.js';
import { newTaskId } from '../../task-id.js';
import { submissionFingerprint } from '../../fingerprint.js';
import { storedJson, unstorable } from '../../stored-json.js';
import { NAME_RE, PRIORITY_MAX, PRIORITY_MIN, type SubmitRequest, type SubmitResult, TASK_ID_RE, type TaskRecord } from '../../task.js';
import { idempotencyConflict } from '../memory-backend.js';
import type { BullmqBackendOptions } from './bullmq-backend-options.js';
import { type PlainJob, runAddScript } from './add-script.js';
import { BullmqConsumer, DROVER_BACKOFF } from './bullmq-consumer.js';
import { CancelRelay } from './cancel-relay.js';
import { CancelResult, defineCancelScript, runCancelScript } from './cancel-script.js';
import { EventHub } from './event-hub.js';
import { CANCELED_REASON, type JobData, toBullmqPriority } from './job-record.js';
import { JobReader } from './job-reader.js';
import { defineQueueExtrasScript, runQueueExtrasScript } from './queue-extras-script.js';
import { unavailable } from './redis-options.js';
import { redisOptionsFromUrl } from '../../redis-url.js';
import { SubmitBatcher } from './submit-batcher.js';
import { TaskIndex } from './task-index.js';
import { WorkerRegistry } from './worker-registry.js';
import { workerLossesTolerated } from '../../task-rules.js';

export type { BullmqBackendOptions } from './bullmq-backend-options.js';

/** How much longer than the result TTL a parent's list of children (and the list index) is kept. */
const CHILDREN_GRACE_SECONDS = 7 * 86_400;

interface PreparedJob {
  index: number;
  req: SubmitRequest;
  record: TaskRecord;
  job: { name: string; data: JobData; opts: Record<string, unknown> };
  dataJson: string;
}

/**
 * The production backend: one BullMQ queue per Drover queue, and the BullMQ job is the task
 * record (see job-record.ts). Task ids are `<queue>.<22 random base64url characters>`
 * (newTaskId), or `<queue>.k<digest>` for an idempotency key, so get() and cancel() know the
 * queue without a lookup.
 *
 * Connections: one producer connection shared by every Queue, with the offline queue disabled
 * and one retry per request, so calls fail fast (DROVER_ERR_BACKEND_UNAVAILABLE) while Redis is
 * down and work again once ioredis reconnects; workers, event readers and the cancel
 * subscriber get their own connections (maxRetriesPerRequest: null, as BullMQ requires).
 */
export class BullmqBackend implements Backend {
  readonly kind = 'bullmq' as const;
  private readonly connection: RedisOptions;
  private readonly producer: Redis;
  readonly agentPermits: RedisAgentPermits;
  private readonly pools = new Map<string, RedisAgentPermits>();

  permits(pool: string): RedisAgentPermits {
    let p = this.pools.get(pool);
    if (!p) {
      p = new RedisAgentPermits(this.producer, `${this.keyBase}pool:${pool}:`);
      this.pools.set(pool, p);
    }
    return p;
  }

  readonly schedules: RedisScheduleStore;
  readonly leaderLease: RedisLeaderLease;
  readonly rateWindows: RedisRateWindows;
  private readonly waits: ChildWaits;
  private readonly prefix: string;
  private readonly keyBase: string;
  private readonly queues = new Map<string, Queue>();
  private readonly known = new Set<string>();
  private readonly consumers = new Set<BullmqConsumer>();
  private readonly reader: JobReader;
  private readonly index: TaskIndex;
  private readonly registry: WorkerRegistry;
  private readonly hub: EventHub;
  private readonly relay: CancelRelay;
  private readonly batcher: SubmitBatcher<SubmitRequest, SubmitResult>;
  private readonly onError: (err: unknown) => void;
  private everReady = false;
  private closed = false;

  constructor(private readonly options: BullmqBackendOptions) {
    this.prefix = options.prefix;
    this.keyBase = `${options.prefix}:_drover:`;
    this.onError = options.onError ?? (() => undefined);
    this.connection = redisOptionsFromUrl(options.redisUrl);
    this.producer = new Redis({
      ...this.connection,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    this.waits = new ChildWaits(this.producer, this.keyBase, (options.resultTtlSeconds + CHILDREN_GRACE_SECONDS) * 1000);
    this.agentPermits = new RedisAgentPermits(this.producer, this.keyBase);
    this.schedules = new RedisScheduleStore(this.producer, this.keyBase);
    this.leaderLease = new RedisLeaderLease(this.producer, this.keyBase);
    this.rateWindows = new RedisRateWindows(this.producer, this.keyBase);
    this.producer.on('error', this.onError);
    this.producer.on('ready', () => {
      this.everReady = true;
    });
    defineCancelScript(this.producer);
    defineQueueExtrasScript(this.producer);
    this.reader = new JobReader(this.producer, this.prefix, (id) => this.childrenKey(id), (queue) => this.suspendedKey(queue));
    this.index = new TaskIndex(this.producer, this.keyBase, (options.resultTtlSeconds + CHILDREN_GRACE_SECONDS) * 1000);
    this.registry = new WorkerRegistry(this.producer, this.keyBase);
    this.hub = new EventHub(this.producer, this.connection, this.prefix, this.onError);
    this.relay = new CancelRelay(this.connection, `${this.keyBase}cancel`, this.onError);
    this.batcher = new SubmitBatcher((reqs) => this.addMany(reqs));
    for (const q of options.queues) this.known.add(q);
  }

  submit(req: SubmitRequest): Promise<SubmitResult> {
    return this.batcher.add(req);
  }

  async submitMany(reqs: SubmitRequest[]): Promise<SubmitResult[]> {
    const results = await this.addMany(reqs);
    const failed = results.find((r): r is Error => r instanceof Error);
    if (failed) throw failed;
    return results as SubmitResult[];
  }

  async get(id: string): Promise<TaskRecord | null> {
    const queue = queueOfId(id);
    if (!queue) return null;
    return this.io(() => this.reader.get(id, queue));
  }

  async getMany(ids: readonly string[]): Promise<Array<TaskRecord | null>> {
    const out: Array<TaskRecord | null> = new Array(ids.length).fill(null);
    const refs: Array<{ id: string; queue: string; at: number }> = [];
    ids.forEach((id, at) => {
      const queue = queueOfId(id);
      if (queue) refs.push({ id, queue, at });
    });
    // One MULTI per 500 ids: a fan-in of 1,000 children is two round trips, not 1,000 transactions.
    for (let i = 0; i < refs.length; i += 500) {
      const part = refs.slice(i, i + 500);
      const records = await this.io(() => this.reader.snapshot(part));
      part.forEach((r, k) => {
        out[r.at] = records[k] ?? null;
      });
    }
    return out;
  }

  async list(query: ListQuery): Promise<ListPage> {
    if (query.queue !== undefined && !NAME_RE.test(query.queue)) return { items: [], nextCursor: null };
    return this.io(() => this.reader.list(query, this.index));
  }

  async discard(id: string): Promise<boolean> {
    const queue = queueOfId(id);
    if (!queue) return false;
    // BullMQ's remove script takes the job hash, its logs, its place in the finished set and its
    // deduplication (our idempotency key is the job id, so the key is free again); the list
    // index drops ids whose job is gone as it meets them. A job that is not finished is kept.
    return this.io(async () => {
      const job = await Job.fromId(this.queue(queue), id);
      if (!job) return false;
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') return false;
      return (await this.queue(queue).remove(id)) === 1;
    });
  }

  async cancel(id: string): Promise<TaskRecord | null> {
    const queue = queueOfId(id);
    if (!queue) return null;
    const result = await this.io(() =>
      runCancelScript(this.producer, {
        keyPrefix: `${this.prefix}:${queue}:`,
        jobId: id,
        reason: CANCELED_REASON,
        channel: this.relay.channel,
        retentionMs: this.options.resultTtlSeconds * 1000,
        canceledKey: this.canceledKey(queue),
      }),
    );
    if (result === CancelResult.NOT_FOUND) return null;
    // Running here: abort now rather than after the pub/sub round trip.
    if (result === CancelResult.RUNNING) this.relay.deliver(id);
    const record = await this.get(id);
    if (result === CancelResult.CANCELED && record?.parentId) await this.childEnded(record.parentId, id).catch(this.onError);
    return record;
  }

  async consume(queue: string, options: ConsumeOptions): Promise<Consumer> {
    this.assertQueue(queue);
    await this.ensureUp();
    this.noteQueue(queue);
    await this.io(() => this.relay.start());
    const consumer = new BullmqConsumer({
      ...options,
      queue,
      prefix: this.prefix,
      connection: this.connection,
      relay: this.relay,
      countCanceled: (id) => this.producer.zadd(this.canceledKey(queue), 'NX', Date.now(), id),
      suspend: async (job, token, wakeAfterMs, wait) => {
        // The marker holds the run that suspended (attemptsStarted): a later delay of the same
        // job (a retry's backoff) does not match it, so it is not mistaken for a waiting parent.
        // What it waits on goes in first, so every child that ends from now on crosses itself off
        // (childEnded); the parent is woken by the one that completes the wait, not by each.
        const parentId = job.id as string;
        const held = wait.ids.length === 0; // held back by a cap: it only waits for the delay
        await Promise.all([this.producer.zadd(this.suspendedKey(queue), job.attemptsStarted, parentId), held ? undefined : this.waits.set(parentId, wait)]);
        await job.moveToDelayed(Date.now() + wakeAfterMs, token);
        if (held) return;
        if (await this.waits.settle(parentId, wait, (ids) => this.getMany(ids))) await this.wake(parentId);
      },
      childEnded: (parentId, childId) => void this.childEnded(parentId, childId).catch(this.onError),
      // A fenced-off attempt's progress is dropped, as on rabbitmq: the later attempt's stands.
      progress: async (jobId, token, value) => {
        await runFencedProgress(this.producer, `${this.prefix}:${queue}:`, jobId, token, value);
      },
      resultTtlSeconds: this.options.resultTtlSeconds,
      lockDurationMs: this.options.lockDurationMs ?? 30_000,
      stalledIntervalMs: this.options.stalledIntervalMs ?? 15_000,
      maxStalledCount: workerLossesTolerated(this.options.poisonCrashes),
      onError: this.onError,
      onClosed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    await consumer.ready();
    return consumer;
  }

  async counts(queue: string): Promise<QueueCounts> {
    this.assertQueue(queue);
    const q = this.queue(queue);
    const horizon = Date.now() - this.options.resultTtlSeconds * 1000;
    const [c, paused, extras] = await this.io(() =>
      Promise.all([
        q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
        q.isPaused(),
        runQueueExtrasScript(this.producer, `${this.prefix}:${queue}:`, this.canceledKey(queue), this.suspendedKey(queue), horizon),
      ]),
    );
    const n = (k: string) => c[k] ?? 0;
    // Canceled tasks sit in BullMQ's failed set; Drover counts them apart.
    const canceled = Math.min(extras.canceled, n('failed'));
    return {
      queued: n('waiting') + n('prioritized'),
      delayed: Math.max(0, n('delayed') - extras.waiting),
      waiting: Math.min(extras.waiting, n('delayed')),
      running: n('active'),
      succeeded: n('completed'),
      failed: n('failed') - canceled,
      canceled,
      paused,
      oldestQueuedAt: extras.oldestQueuedAt,
    };
  }

  async pause(queue: string): Promise<void> {
    this.assertQueue(queue);
    await this.io(() => this.queue(queue).pause());
  }

  async resume(queue: string): Promise<void> {
    this.assertQueue(queue);
    await this.io(() => this.queue(queue).resume());
  }

  async isPaused(queue: string): Promise<boolean> {
    this.assertQueue(queue);
    return this.io(() => this.queue(queue).isPaused());
  }

  async onEvent(listener: (event: TaskEvent) => void): Promise<() => void> {
    const queues = await this.allQueues();
    return this.io(() => this.hub.subscribe(listener, queues));
  }

  publishLog(task: TaskRef, line: TaskLogLine): Promise<void> {
    return this.io(() => this.hub.publishLog(task, line));
  }

  heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void> {
    return this.io(() => this.registry.heartbeat(worker, ttlMs));
  }

  removeWorker(id: string): Promise<void> {
    return this.io(() => this.registry.remove(id));
  }

  workers(): Promise<WorkerInfo[]> {
    return this.io(() => this.registry.list());
  }

  registerTaskTypes(types: TaskTypeInfo[]): Promise<void> {
    return this.io(() => this.registry.registerTypes(types));
  }

  taskTypes(): Promise<TaskTypeInfo[]> {
    return this.io(() => this.registry.types());
  }

  async ping(): Promise<void> {
    await this.io(() => this.producer.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const settle = (p: Promise<unknown>) => p.catch(this.onError);
    await Promise.all([...this.consumers].map((c) => settle(c.close(0))));
    await Promise.all([settle(this.hub.close()), settle(this.relay.close())]);
    await Promise.all([...this.queues.values()].map((q) => settle(q.close())));
    this.queues.clear();
    try {
      await this.producer.quit();
    } catch {
      this.producer.disconnect();
    }
  }

  // ---- submission ----

  /**
   * Per queue: plain jobs (no delay, top priority) and their index entries in one add-script
   * call; the rest through BullMQ (one add, or one addBulk). All queues' calls go out together.
   * Answers per request.
   */
  private async addMany(reqs: SubmitRequest[]): Promise<Array<SubmitResult | Error>> {
    const out: Array<SubmitResult | Error> = new Array(reqs.length);
    const byQueue = new Map<string, PreparedJob[]>();
    const keyed: PreparedJob[] = [];
    const now = Date.now();
    for (let index = 0; index < reqs.length; index++) {
      const req = reqs[index]!;
      const invalid = checkRequest(req);
      if (invalid) {
        out[index] = invalid;
        continue;
      }
      let p: PreparedJob;
      try {
        p = prepare(req, index, now);
      } catch (err) {
        // This task alone: the others of the batch (other requests' tasks) still go in.
        out[index] = unstorable(err) ?? new DroverError('INTERNAL', 'The task could not be prepared for storage.', { cause: err });
        continue;
      }
      const list = byQueue.get(req.queue);
      if (list) list.push(p);
      else byQueue.set(req.queue, [p]);
      if (p.job.data.nonce) keyed.push(p);
      else out[index] = { task: p.record, created: true };
    }
    if (byQueue.size === 0) return out;

    await this.ensureUp();
    const work: Array<Promise<unknown>> = [];
    const tenants = new Set<string>();
    const indexed: Array<{ id: string; tenant: string; score: number }> = [];
    for (const [queue, jobs] of byQueue) {
      const plain: PlainJob[] = [];
      const other: PreparedJob['job'][] = [];
      for (const j of jobs) {
        tenants.add(j.req.tenant);
        const score = this.index.score(now);
        if (isPlain(j.req)) {
          plain.push({ id: j.record.id, name: j.job.name, data: j.dataJson, opts: JSON.stringify(j.job.opts), tenant: j.req.tenant, score, band: 10 - j.req.priority });
        } else {
          // queue.add() takes the id and creation time in opts (and stores them there).
          other.push({ ...j.job, opts: { ...j.job.opts, jobId: j.record.id, timestamp: now } });
          indexed.push({ id: j.record.id, tenant: j.req.tenant, score });
        }
      }
      if (plain.length > 0) {
        work.push(runAddScript(this.producer, `${this.prefix}:${queue}:`, this.index.allKey(), this.index.tenantKeyPrefix(), `${this.keyBase}rounds:${queue}`, now, plain));
      }
      if (other.length > 0) {
        const q = this.queue(queue);
        work.push(other.length === 1 ? q.add(other[0]!.name, other[0]!.data, other[0]!.opts) : q.addBulk(other));
      }
      if (!this.known.has(queue)) work.push(this.noteQueue(queue));
    }
    if (indexed.length > 0) work.push(this.index.add(indexed));
    work.push(this.index.trim(tenants, now));
    const parents = reqs.some((r) => r.parentId);
    try {
      await Promise.all(work);
      if (keyed.length > 0) await this.settleKeyed(keyed, out);
      if (parents) await this.linkChildren(reqs, out);
    } catch (err) {
      throw unavailable(err);
    }
    return out;
  }

  /**
   * BullMQ keeps the first job stored under an id and ignores later adds; the Job object addBulk
   * returns is built client-side either way. So read back what is stored: our nonce means this
   * request created it; another nonce means it already existed (same body, or a conflict).
   */
  private async settleKeyed(keyed: PreparedJob[], out: Array<SubmitResult | Error>): Promise<void> {
    const p = this.producer.pipeline();
    for (const k of keyed) p.hget(`${this.prefix}:${k.req.queue}:${k.record.id}`, 'data');
    const res = (await p.exec()) ?? [];
    const existing: PreparedJob[] = [];
    keyed.forEach((k, i) => {
      const raw = res[i]?.[1] as string | null | undefined;
      const stored = raw ? (JSON.parse(raw) as JobData) : undefined;
      if (stored?.nonce === k.job.data.nonce) out[k.index] = { task: k.record, created: true };
      else if (stored && stored.fingerprint !== k.job.data.fingerprint) out[k.index] = idempotencyConflict(k.req.idempotencyKey!);
      else existing.push(k);
    });
    const records = await this.reader.snapshot(existing.map((k) => ({ id: k.record.id, queue: k.req.queue })));
    existing.forEach((k, i) => {
      const task = records[i];
      out[k.index] = task ? { task, created: false } : new DroverError('INTERNAL', `Task ${k.record.id} vanished while being submitted; submit again.`);
    });
  }

  private async linkChildren(reqs: SubmitRequest[], out: Array<SubmitResult | Error>): Promise<void> {
    const p = this.producer.pipeline();
    reqs.forEach((r, i) => {
      const res = out[i];
      if (r.parentId && res && !(res instanceof Error) && res.created) {
        // Outlives the parent's record (kept resultTtl after it finishes); renewed by every child.
        p.rpush(this.childrenKey(r.parentId), res.task.id).expire(this.childrenKey(r.parentId), this.options.resultTtlSeconds + CHILDREN_GRACE_SECONDS);
      }
    });
    if (p.length > 0) await p.exec();
  }

  // ---- plumbing ----

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.prefix });
      q.on('error', this.onError);
      this.queues.set(name, q);
    }
    return q;
  }

  /** Remembers a queue in Redis, so list() and onEvent() of every process can find it. */
  private noteQueue(queue: string): Promise<unknown> {
    if (this.known.has(queue)) return Promise.resolve();
    this.known.add(queue);
    if (this.hub.active) this.hub.watch(queue).catch(this.onError);
    return this.producer.sadd(`${this.keyBase}queues`, queue).catch((err: unknown) => {
      this.known.delete(queue);
      throw err;
    });
  }

  private async allQueues(): Promise<string[]> {
    const stored = await this.io(() => this.producer.smembers(`${this.keyBase}queues`));
    return [...new Set([...this.options.queues, ...this.known, ...stored])];
  }

  /**
   * A suspended parent runs again now: promoted out of the delayed set, if it is still the
   * suspension of the same run (its marker matches) and not, say, a retry's backoff.
   */
  private async wake(parentId: string): Promise<void> {
    const queue = queueOfId(parentId);
    if (!queue) return;
    const res = ((await this.producer
      .multi()
      .zscore(this.suspendedKey(queue), parentId)
      .hget(`${this.prefix}:${queue}:${parentId}`, 'ats')
      .zscore(`${this.prefix}:${queue}:delayed`, parentId)
      .exec()) ?? []) as Array<[unknown, string | null]>;
    const [marker, ats, delayed] = [0, 1, 2].map((i) => res[i]?.[1] ?? null);
    if (marker == null || delayed == null || marker !== ats) return;
    const job = await Job.fromId(this.queue(queue), parentId);
    // Promoted meanwhile by another child's finish: nothing left to do.
    await job?.promote().catch(() => undefined);
  }

  /** A child ended: its suspended parent wakes if that completes what the parent waits on. */
  private async childEnded(parentId: string, childId: string): Promise<void> {
    if (await this.waits.crossOff(parentId, childId)) await this.wake(parentId);
  }

  /** Suspended parents of a queue: id -> the run (attemptsStarted) that suspended. */
  private suspendedKey(queue: string): string {
    return `${this.keyBase}suspended:${queue}`;
  }

  private childrenKey(parentId: string): string {
    return `${this.keyBase}children:${parentId}`;
  }

  private assertQueue(queue: string): void {
    if (!NAME_RE.test(queue)) throw new DroverError('UNKNOWN_QUEUE', `Queue ${JSON.stringify(queue)} is not a valid queue name (${NAME_RE.source}).`);
  }

  /** Fails fast when Redis is down; waits briefly only for the very first connection. */
  private async ensureUp(): Promise<void> {
    if (this.closed) throw new DroverError('BACKEND_UNAVAILABLE', 'The bullmq backend is closed.');
    if (this.producer.status === 'ready') return;
    if (!this.everReady && (this.producer.status === 'connecting' || this.producer.status === 'connect')) {
      const timeoutMs = this.options.connectTimeoutMs ?? 2000;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.producer.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.producer.once('ready', done);
      });
      if ((this.producer.status as string) === 'ready') return;
    }
    // No address in the message: DroverErrors reach API answers as they are.
    throw new DroverError('BACKEND_UNAVAILABLE', `Redis is not connected (${this.producer.status}); retry shortly.`, {
      retryable: true,
    });
  }

  /** Ids of this queue's canceled tasks (they sit in BullMQ's failed set): score = finish time. */
  private canceledKey(queue: string): string {
    return `${this.keyBase}canceled:${queue}`;
  }

  private async io<T>(op: () => Promise<T>): Promise<T> {
    await this.ensureUp();
    try {
      return await op();
    } catch (err) {
      throw unavailable(err);
    }
  }
}

function prepare(req: SubmitRequest, index: number, now: number): PreparedJob {
  const key = req.idempotencyKey ?? null;
  const id = key ? idempotentId(req.tenant, req.queue, key) : newTaskId(req.queue);
  const data: JobData = { input: req.input, tenant: req.tenant, timeoutMs: req.timeoutMs };
  if (key) {
    data.idempotencyKey = key;
    data.fingerprint = submissionFingerprint(req);
    data.nonce = randomBytes(9).toString('base64url');
  }
  if (req.parentId) data.parentId = req.parentId;
  if (req.traceparent) data.traceparent = req.traceparent;
  // attempts 0 is what BullMQ itself stores when none is given (the add script writes opts as is).
  // No jobId or timestamp: BullMQ reads neither back from a stored job (the id comes from the
  // job's key, the creation time from its `timestamp` field), and every worker parses the opts of
  // every job it fetches; the two fields made a plain job's opts six times longer and cost a
  // draining worker about 4% of its instructions per job (bench/README.md). Jobs that go through
  // queue.add() get them there.
  const opts: Record<string, unknown> = { attempts: 0 };
  // Jobs the add script writes get their priority there (it holds the tenant's fair round).
  if (req.delayMs > 0) {
    opts.delay = req.delayMs;
    opts.priority = toBullmqPriority(req.priority);
  }
  if (req.maxAttempts > 1) {
    opts.attempts = req.maxAttempts;
    opts.backoff = { type: DROVER_BACKOFF, delay: req.backoffMs };
  }
  const record: TaskRecord = {
    id,
    type: req.type,
    queue: req.queue,
    tenant: req.tenant,
    status: req.delayMs > 0 ? 'delayed' : 'queued',
    input: req.input ?? null,
    output: null,
    error: null,
    progress: null,
    priority: req.priority,
    attempt: 0,
    maxAttempts: req.maxAttempts,
    timeoutMs: req.timeoutMs,
    parentId: req.parentId ?? null,
    children: [],
    idempotencyKey: key,
    createdAt: isoTime(now),
    startedAt: null,
    finishedAt: null,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
  };
  // Serialised here, once, so a value that cannot be stored fails its own task, not the batch.
  return { index, req, record, job: { name: req.type, data, opts }, dataJson: storedJson(data) };
}

/** Jobs the add script writes (into the prioritized set, with their tenant's round): no delay. */
function isPlain(req: SubmitRequest): boolean {
  return req.delayMs <= 0;
}

/** Same tenant, queue and key → same job id; BullMQ then refuses to store a second job. */
function idempotentId(tenant: string, queue: string, key: string): string {
  const digest = createHash('sha256').update(`${tenant}\0${queue}\0${key}`).digest('base64url').slice(0, 32);
  return `${queue}.k${digest}`;
}

function checkRequest(req: SubmitRequest): DroverError | undefined {
  if (!NAME_RE.test(req.queue)) return new DroverError('UNKNOWN_QUEUE', `Queue ${JSON.stringify(req.queue)} is not a valid queue name (${NAME_RE.source}).`);
  if (!Number.isInteger(req.priority) || req.priority < PRIORITY_MIN || req.priority > PRIORITY_MAX) {
    return new DroverError('VALIDATION', `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}; got ${req.priority}.`);
  }
  if (!Number.isInteger(req.maxAttempts) || req.maxAttempts < 1) return new DroverError('VALIDATION', `maxAttempts must be an integer ≥ 1; got ${req.maxAttempts}.`);
  if (!(req.timeoutMs >= 1)) return new DroverError('VALIDATION', `timeoutMs must be ≥ 1; got ${req.timeoutMs}.`);
  if (!(req.delayMs >= 0)) return new DroverError('VALIDATION', `delayMs must be ≥ 0; got ${req.delayMs}.`);
  return undefined;
}

/** The queue an id belongs to (ids are `<queue>.<rest>`), or undefined for a foreign id. */
function queueOfId(id: string): string | undefined {
  if (!TASK_ID_RE.test(id)) return undefined;
  const dot = id.indexOf('.');
  const queue = dot > 0 ? id.slice(0, dot) : '';
  return NAME_RE.test(queue) ? queue : undefined;
}
