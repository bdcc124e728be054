import type { Backend, TaskEvent } from '@drover/shared';

/** A task event with the id SSE clients resume from (Last-Event-ID). */
export interface LoggedEvent {
  id: string;
  event: TaskEvent;
}

export interface EventLogOptions {
  /** How long events are kept for resuming streams (DROVER_EVENT_RETENTION_SECONDS). */
  retentionMs: number;
  /** Most events kept in all; the oldest go first (bounds memory on a busy cluster). */
  maxEvents: number;
  now?: () => number;
}

/**
 * The recent history of every task's events, so an SSE client that drops and reconnects with
 * Last-Event-ID misses nothing and sees nothing twice. Every orchestrator replica subscribes to
 * the backend's events from start-up and keeps the same history, and ids are made from the event
 * itself (`<at ms>-<n>-<task id>`, n counting that task's events within the millisecond), so a
 * client may resume on another replica. History starts when the replica starts; it is kept for
 * `retentionMs` and at most `maxEvents` events.
 */
export class EventLog {
  private readonly byTask = new Map<string, LoggedEvent[]>();
  /** Every kept event in arrival order; `head` is the first still kept. */
  private order: LoggedEvent[] = [];
  private head = 0;
  private readonly listeners = new Set<(e: LoggedEvent) => void>();
  private unsubscribe: (() => void) | undefined;
  private trimmer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: EventLogOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(backend: Pick<Backend, 'onEvent'>): Promise<void> {
    this.unsubscribe = await backend.onEvent((event) => this.append(event));
    this.trimmer = setInterval(() => this.trim(), Math.min(60_000, Math.max(1000, this.options.retentionMs / 10)));
    this.trimmer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.trimmer) clearInterval(this.trimmer);
    this.listeners.clear();
  }

  append(event: TaskEvent): LoggedEvent {
    let list = this.byTask.get(event.id);
    if (!list) {
      list = [];
      this.byTask.set(event.id, list);
    }
    let n = 0;
    for (let i = list.length - 1; i >= 0 && list[i]!.event.at === event.at; i--) n++;
    const logged = { id: `${event.at}-${n}-${event.id}`, event };
    list.push(logged);
    this.order.push(logged);
    if (this.order.length - this.head > this.options.maxEvents) this.trim();
    for (const listener of this.listeners) listener(logged);
    return logged;
  }

  /** The task's kept events after `lastId` (all of them when lastId is undefined). */
  taskEvents(taskId: string, lastId?: string): LoggedEvent[] {
    return after(this.byTask.get(taskId) ?? [], lastId);
  }

  /** Every kept event after `lastId`, in arrival order. */
  allEvents(lastId?: string): LoggedEvent[] {
    return after(this.order.slice(this.head), lastId);
  }

  /** Called with every event from now on; returns the unsubscribe function. */
  listen(listener: (e: LoggedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.order.length - this.head;
  }

  private trim(): void {
    const horizon = this.now() - this.options.retentionMs;
    while (this.head < this.order.length && (this.order.length - this.head > this.options.maxEvents || this.order[this.head]!.event.at < horizon)) {
      const gone = this.order[this.head++]!;
      const list = this.byTask.get(gone.event.id);
      if (list?.[0] === gone) list.shift();
      if (list?.length === 0) this.byTask.delete(gone.event.id);
    }
    // Compact once the dropped prefix dominates, so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

/** The events after the one with `lastId`; when it is no longer kept, the ones after its time. */
function after(list: readonly LoggedEvent[], lastId: string | undefined): LoggedEvent[] {
  if (lastId === undefined) return [...list];
  const at = list.findIndex((e) => e.id === lastId);
  if (at >= 0) return list.slice(at + 1);
  const ms = Number(lastId.split('-', 1)[0]);
  return Number.isFinite(ms) ? list.filter((e) => e.event.at > ms) : [...list];
}
