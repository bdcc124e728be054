import { EventEmitter } from 'node:events';
import { LocalAgentPermits } from '../agent-permits.js';
import { LocalScheduleStore } from '../schedule-store.js';
import { LocalLeaderLease } from '../leader-lease.js';
import { LocalRateWindows } from '../rate-window.js';
import { runAttempt } from '../attempt.js';
import { CANCELED_ERROR, cancelEffect, decideAfterAttempt } from '../task-rules.js';
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
} from '../backend.js';
import { DroverError } from '../errors.js';
import { submissionFingerprint } from '../fingerprint.js';
import { storing } from '../stored-json.js';
import { FINISHED_STATUSES, type SubmitRequest, type SubmitResult, type TaskRecord, type TaskStatus } from '../task.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { newTaskId } from '../task-id.js';

export interface MemoryBackendOptions {
  /** Finished tasks are forgotten this long after they finish. */
  resultTtlMs?: number;
}

interface Entry {
  record: TaskRecord;
  seq: number;
  fingerprint: string;
  backoffMs: number;
  /** Attempts that count against maxAttempts: record.attempt less the runs a shutdown interrupted. */
  counted: number;
  timer?: NodeJS.Timeout;
  cancel?: AbortController;
  /** Fair dispatch between tenants: this task's round in its queue (see enqueue). */
  round: number;
  /** A suspended parent: the children it still waits on, and whether any one of them is enough. */
  waitingOn?: { pending: Set<string>; any: boolean };
}

interface QueueState {
  ready: Entry[]; // sorted: priority desc, then round asc, then seq asc
  /** Per priority: its epoch (moved on when found empty) and each tenant's last round in it. */
  rounds: Map<number, { epoch: number; last: Map<string, number> }>;
  paused: boolean;
  consumers: Set<MemoryConsumer>;
}

/**
 * Everything in one process, same semantics as the server-backed backends. It exists so that
 * `npm start` needs no server; it passes the same conformance suite. Nothing survives a restart.
 */
export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly agentPermits = new LocalAgentPermits();
  private readonly pools = new Map<string, LocalAgentPermits>();

  permits(pool: string): LocalAgentPermits {
    let p = this.pools.get(pool);
    if (!p) {
      p = new LocalAgentPermits();
      this.pools.set(pool, p);
    }
    return p;
  }

  readonly leaderLease = new LocalLeaderLease();
  readonly schedules = new LocalScheduleStore(this.leaderLease);
  readonly rateWindows = new LocalRateWindows();
  private readonly tasks = new Map<string, Entry>();
  private readonly keys = new Map<string, string>();
  private readonly queues = new Map<string, QueueState>();
  private readonly events = new EventEmitter();
  private readonly liveWorkers = new Map<string, { info: WorkerInfo; expiresAt: number }>();
  private readonly types = new Map<string, TaskTypeInfo>();
  private readonly resultTtlMs: number;
  private seq = 0;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.resultTtlMs = options.resultTtlMs ?? 86_400_000;
    this.events.setMaxListeners(0);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    this.assertOpen();
    const fingerprint = submissionFingerprint(req);
    // A copy the caller cannot change afterwards; one that cannot be copied is refused (400).
    const input = storing(() => structuredClone(req.input));
    if (req.idempotencyKey) {
      const key = `${req.tenant}\0${req.queue}\0${req.idempotencyKey}`;
      const existing = this.keys.get(key);
      const entry = existing ? this.tasks.get(existing) : undefined;
      if (entry) {
        if (entry.fingerprint !== fingerprint) throw idempotencyConflict(req.idempotencyKey);
        return { task: clone(entry.record), created: false };
      }
    }
    const now = new Date().toISOString();
    const record: TaskRecord = {
      id: newTaskId(req.queue),
      type: req.type,
      queue: req.queue,
      tenant: req.tenant,
      status: req.delayMs > 0 ? 'delayed' : 'queued',
      input,
      output: null,
      error: null,
      progress: null,
      priority: req.priority,
      attempt: 0,
      maxAttempts: req.maxAttempts,
      timeoutMs: req.timeoutMs,
      parentId: req.parentId ?? null,
      children: [],
      idempotencyKey: req.idempotencyKey ?? null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    };
    const entry: Entry = { record, seq: ++this.seq, fingerprint, backoffMs: req.backoffMs, counted: 0, round: 0 };
    this.tasks.set(record.id, entry);
    if (req.idempotencyKey) this.keys.set(`${req.tenant}\0${req.queue}\0${req.idempotencyKey}`, record.id);
    if (req.parentId) this.tasks.get(req.parentId)?.record.children.push(record.id);
    // The submit's event first: enqueue() may start the task at once (and emit `running`).
    this.emit({ kind: 'state', id: record.id, queue: record.queue, status: record.status, at: Date.now() });
    const created = clone(record);
    if (req.delayMs > 0) this.schedule(entry, req.delayMs);
    else this.enqueue(entry, true);
    return { task: created, created: true };
  }

  async submitMany(reqs: SubmitRequest[]): Promise<SubmitResult[]> {
    const out: SubmitResult[] = [];
    for (const r of reqs) out.push(await this.submit(r));
    return out;
  }

  async getMany(ids: readonly string[]): Promise<Array<TaskRecord | null>> {
    return ids.map((id) => {
      const e = this.tasks.get(id);
      return e ? clone(e.record) : null;
    });
  }

  async get(id: string): Promise<TaskRecord | null> {
    const e = this.tasks.get(id);
    return e ? clone(e.record) : null;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const after = query.cursor === undefined ? 0 : Number(decodeCursor(query.cursor, ['s'])['s']);
    const items: TaskRecord[] = [];
    let last = after;
    // Map iteration is insertion order, i.e. ascending seq.
    for (const e of this.tasks.values()) {
      if (e.seq <= after) continue;
      const r = e.record;
      if (query.tenant && r.tenant !== query.tenant) continue;
      if (query.queue && r.queue !== query.queue) continue;
      if (query.status && r.status !== query.status) continue;
      if (query.type && r.type !== query.type) continue;
      items.push(clone(r));
      last = e.seq;
      if (items.length === query.limit) break;
    }
    const more = items.length === query.limit && [...this.tasks.values()].some((e) => e.seq > last);
    return { items, nextCursor: more ? encodeCursor({ s: String(last) }) : null };
  }

  async discard(id: string): Promise<boolean> {
    const e = this.tasks.get(id);
    if (!e || !FINISHED_STATUSES.has(e.record.status)) return false;
    if (e.timer) clearTimeout(e.timer);
    this.forget(e);
    return true;
  }

  async cancel(id: string): Promise<TaskRecord | null> {
    const e = this.tasks.get(id);
    if (!e) return null;
    const r = e.record;
    switch (cancelEffect(r.status)) {
      case 'finished':
        return clone(r);
      case 'abort-running':
        e.cancel?.abort();
        return clone(r);
      case 'cancel-now': {
        if (e.timer) clearTimeout(e.timer);
        const q = this.queue(r.queue);
        q.ready = q.ready.filter((x) => x !== e);
        this.finish(e, 'canceled', { error: { ...CANCELED_ERROR } });
        return clone(r);
      }
    }
  }

  async consume(queue: string, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const consumer = new MemoryConsumer(this, queue, options);
    this.queue(queue).consumers.add(consumer);
    this.dispatch(queue);
    return consumer;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const c: QueueCounts = { queued: 0, delayed: 0, waiting: 0, running: 0, succeeded: 0, failed: 0, canceled: 0, paused: this.queue(queue).paused, oldestQueuedAt: null };
    for (const e of this.tasks.values()) {
      if (e.record.queue !== queue) continue;
      const s = e.record.status;
      c[s]++;
      if (s === 'queued') {
        const created = Date.parse(e.record.createdAt);
        if (c.oldestQueuedAt === null || created < c.oldestQueuedAt) c.oldestQueuedAt = created;
      }
    }
    return c;
  }

  async pause(queue: string): Promise<void> {
    this.queue(queue).paused = true;
  }

  async resume(queue: string): Promise<void> {
    this.queue(queue).paused = false;
    this.dispatch(queue);
  }

  async isPaused(queue: string): Promise<boolean> {
    return this.queue(queue).paused;
  }

  async onEvent(listener: (event: TaskEvent) => void): Promise<() => void> {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async publishLog(task: TaskRef, line: TaskLogLine): Promise<void> {
    this.emit({ kind: 'log', id: task.id, queue: task.queue, log: line, at: Date.now() });
  }

  async heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void> {
    this.liveWorkers.set(worker.id, { info: { ...worker }, expiresAt: Date.now() + ttlMs });
  }

  async removeWorker(id: string): Promise<void> {
    this.liveWorkers.delete(id);
  }

  async workers(): Promise<WorkerInfo[]> {
    const now = Date.now();
    const out: WorkerInfo[] = [];
    for (const [id, w] of this.liveWorkers) {
      if (w.expiresAt <= now) this.liveWorkers.delete(id);
      else out.push({ ...w.info });
    }
    return out;
  }

  async registerTaskTypes(types: TaskTypeInfo[]): Promise<void> {
    for (const t of types) this.types.set(t.name, t);
  }

  async taskTypes(): Promise<TaskTypeInfo[]> {
    return [...this.types.values()];
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()].flatMap((q) => [...q.consumers].map((c) => c.close(0))));
    for (const e of this.tasks.values()) if (e.timer) clearTimeout(e.timer);
    this.events.removeAllListeners();
  }

  // ---- internals used by MemoryConsumer ----

  /** Hands the next ready task of `queue` to a consumer with a free slot. */
  dispatch(queue: string): void {
    const q = this.queue(queue);
    if (q.paused || this.closed) return;
    for (const consumer of q.consumers) {
      while (consumer.hasSlot() && q.ready.length > 0) {
        const entry = q.ready.shift()!;
        consumer.start(entry);
      }
    }
  }

  markRunning(entry: Entry): void {
    const r = entry.record;
    r.status = 'running';
    r.attempt += 1;
    entry.counted += 1;
    r.startedAt = new Date().toISOString();
    entry.cancel = new AbortController();
    this.emit({ kind: 'state', id: r.id, queue: r.queue, status: 'running', at: Date.now() });
  }

  async progress(entry: Entry, value: unknown): Promise<void> {
    entry.record.progress = value;
    this.emit({ kind: 'progress', id: entry.record.id, queue: entry.record.queue, progress: value, at: Date.now() });
  }

  settle(entry: Entry, outcome: Awaited<ReturnType<typeof runAttempt>>): void {
    const r = entry.record;
    entry.cancel = undefined;
    const decision = decideAfterAttempt(outcome, entry.counted, r.maxAttempts, entry.backoffMs);
    switch (decision.kind) {
      case 'succeed':
        this.finish(entry, 'succeeded', { output: outcome.kind === 'succeeded' ? outcome.output : null });
        return;
      case 'cancel':
        this.finish(entry, 'canceled', { error: decision.error });
        return;
      case 'requeue':
        // The attempt does not count; the task runs again as the next attempt (record.attempt).
        entry.counted -= 1;
        r.status = 'queued';
        this.enqueue(entry);
        this.emit({ kind: 'state', id: r.id, queue: r.queue, status: 'queued', at: Date.now() });
        return;
      case 'suspend': {
        // Waiting on children: no slot held, the attempt does not count. A child's finish wakes
        // it (finish() below); the timer is the backstop.
        entry.counted -= 1;
        r.status = 'waiting';
        this.schedule(entry, decision.wakeAfterMs);
        this.emit({ kind: 'state', id: r.id, queue: r.queue, status: 'waiting', at: Date.now() });
        if (outcome.kind === 'suspended' && outcome.wait.ids.length > 0) {
          // Woken by the child that ends the wait (the last of all, the first of any), not by each.
          const { ids, mode } = outcome.wait;
          const pending = new Set(ids.filter((id) => this.tasks.get(id) && !FINISHED_STATUSES.has(this.tasks.get(id)!.record.status)));
          entry.waitingOn = { pending, any: mode === 'any' };
          if (mode === 'any' ? pending.size < ids.length : pending.size === 0) this.wake(r.id);
        }
        return;
      }
      case 'retry':
        r.error = decision.error;
        r.status = 'delayed';
        this.schedule(entry, decision.delayMs);
        this.emit({ kind: 'state', id: r.id, queue: r.queue, status: 'delayed', at: Date.now() });
        return;
      case 'fail':
        this.finish(entry, 'failed', { error: decision.error });
        return;
    }
  }

  private finish(entry: Entry, status: TaskStatus, patch: Partial<TaskRecord>): void {
    const r = entry.record;
    Object.assign(r, patch, { status, finishedAt: new Date().toISOString() });
    if (status === 'succeeded') r.error = null;
    this.emit({ kind: 'state', id: r.id, queue: r.queue, status, at: Date.now() });
    if (r.parentId) this.childEnded(r.parentId, r.id);
    entry.timer = setTimeout(() => this.forget(entry), this.resultTtlMs);
    entry.timer.unref();
  }

  /** A child ended: its parent wakes if that was what it waited for. */
  private childEnded(parentId: string, childId: string): void {
    const w = this.tasks.get(parentId)?.waitingOn;
    if (!w?.pending.delete(childId)) return;
    if (w.any || w.pending.size === 0) this.wake(parentId);
  }

  /** A suspended parent runs again now (what it waited for ended, or the backstop). */
  private wake(id: string): void {
    const entry = this.tasks.get(id);
    if (entry?.record.status !== 'waiting') return;
    entry.waitingOn = undefined;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.record.status = 'queued';
    this.emit({ kind: 'state', id, queue: entry.record.queue, status: 'queued', at: Date.now() });
    this.enqueue(entry);
  }

  private forget(entry: Entry): void {
    this.tasks.delete(entry.record.id);
    const key = entry.record.idempotencyKey;
    if (key) this.keys.delete(`${entry.record.tenant}\0${entry.record.queue}\0${key}`);
  }

  private schedule(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.record.status = 'queued';
      this.emit({ kind: 'state', id: entry.record.id, queue: entry.record.queue, status: 'queued', at: Date.now() });
      this.enqueue(entry);
    }, delayMs);
    entry.timer.unref();
  }

  /**
   * Fair dispatch between tenants, as the bullmq backend's add script does: a fresh task takes
   * round max(its tenant's last round + 1, the round at the head of the queue), so each round holds
   * at most one task per tenant and tenants are served in turn. Tasks that come back (retries,
   * woken parents, requeues, delayed ones coming due) keep their round, 0 for a delayed one: the
   * front of their priority.
   */
  private enqueue(entry: Entry, fresh = false): void {
    const q = this.queue(entry.record.queue);
    const { priority } = entry.record;
    if (fresh) {
      // The head of this priority: the first ready entry with it (ready is sorted by priority).
      let at = 0;
      let end = q.ready.length;
      while (at < end) {
        const mid = (at + end) >>> 1;
        if (q.ready[mid]!.record.priority > priority) at = mid + 1;
        else end = mid;
      }
      const first = q.ready[at];
      let band = q.rounds.get(priority);
      if (!band || first?.record.priority !== priority) {
        band = { epoch: (band?.epoch ?? 0) + 1, last: new Map() }; // empty: old rounds stop counting
        q.rounds.set(priority, band);
      }
      const head = first?.record.priority === priority ? first.round : 0;
      const tenant = entry.record.tenant;
      entry.round = Math.max((band.last.get(tenant) ?? -1) + 1, head);
      band.last.set(tenant, entry.round);
    }
    // Binary search keeps `ready` ordered: higher priority first, then the lower round, then FIFO.
    let lo = 0;
    let hi = q.ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = q.ready[mid]!;
      const mp = m.record.priority;
      const before = mp > priority || (mp === priority && (m.round < entry.round || (m.round === entry.round && m.seq < entry.seq)));
      if (before) lo = mid + 1;
      else hi = mid;
    }
    q.ready.splice(lo, 0, entry);
    this.dispatch(entry.record.queue);
  }

  private queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) {
      q = { ready: [], paused: false, consumers: new Set(), rounds: new Map() };
      this.queues.set(name, q);
    }
    return q;
  }

  removeConsumer(queue: string, consumer: MemoryConsumer): void {
    this.queue(queue).consumers.delete(consumer);
  }

  private emit(event: TaskEvent): void {
    this.events.emit('event', event);
  }

  private assertOpen(): void {
    if (this.closed) throw new DroverError('BACKEND_UNAVAILABLE', 'The memory backend is closed.');
  }
}

class MemoryConsumer implements Consumer {
  private readonly active = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private closing = false;

  constructor(
    private readonly backend: MemoryBackend,
    private readonly queue: string,
    private readonly options: ConsumeOptions,
  ) {}

  hasSlot(): boolean {
    return !this.closing && this.active.size < this.options.concurrency;
  }

  running(): number {
    return this.active.size;
  }

  start(entry: Entry): void {
    this.backend.markRunning(entry);
    const task = clone(entry.record);
    const p = runAttempt(task, this.options.handler, {
      cancel: entry.cancel!.signal,
      shutdown: this.shutdown.signal,
      progress: (v) => this.backend.progress(entry, v),
    }).then((outcome) => {
      this.active.delete(p);
      this.backend.settle(entry, outcome);
      this.backend.dispatch(this.queue);
    });
    this.active.add(p);
  }

  async close(graceMs = 0): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.backend.removeConsumer(this.queue, this);
    const drained = Promise.all([...this.active]);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([drained, timer]);
    if (this.active.size > 0) {
      this.shutdown.abort();
      await Promise.all([...this.active]);
    }
  }
}

function clone(r: TaskRecord): TaskRecord {
  return structuredClone(r);
}

export function idempotencyConflict(key: string): DroverError {
  return new DroverError(
    'IDEMPOTENCY_CONFLICT',
    `Idempotency-Key ${JSON.stringify(key)} was already used for a different request; use a new key for a new task.`,
  );
}
