import { type Backend, FINISHED_STATUSES, type TaskEvent } from '@drover/shared';

/** A registration made before reading the task, so a finish in between is not missed. */
export interface WaitTicket {
  /** Resolves true when the task finished, false when `ms` elapsed or the ticket was released. */
  until(ms: number): Promise<boolean>;
  /** Frees the registration; safe to call more than once. */
  release(): void;
}

/** How long the event subscription outlives the last waiter (saves re-subscribing per request). */
const IDLE_MS = 30_000;

/**
 * Long-poll support: ONE backend event subscription per app, fanned out to the requests waiting
 * on each task id. It is opened by the first waiter and closed once nobody has waited for
 * IDLE_MS: reading every queue's event stream costs CPU on a busy system, and most submissions
 * never wait.
 */
export class TaskWaiter {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private subscription: Promise<() => void> | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Stops listening and lets every pending long-poll answer now with the current record. */
  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    this.unsubscribe();
    for (const set of this.waiting.values()) for (const w of set) w.settle(false);
    this.waiting.clear();
  }

  /** Number of ids with pending waiters (for tests and leak checks). */
  get size(): number {
    return this.waiting.size;
  }

  /** True while the backend event subscription is open. */
  get subscribed(): boolean {
    return this.subscription !== undefined;
  }

  /** Registers a waiter for `id`; resolves once events for it can no longer be missed. */
  async watch(id: string): Promise<WaitTicket> {
    const w = new Waiter(() => this.remove(id, w));
    let set = this.waiting.get(id);
    if (!set) {
      set = new Set();
      this.waiting.set(id, set);
    }
    set.add(w);
    if (this.idle) clearTimeout(this.idle);
    try {
      this.subscription ??= this.backend.onEvent((event) => this.onEvent(event)).catch((err: unknown) => {
        this.subscription = undefined;
        throw err;
      });
      await this.subscription;
    } catch (err) {
      w.release();
      throw err;
    }
    return w;
  }

  private onEvent(event: TaskEvent): void {
    if (event.kind !== 'state' || event.status === undefined || !FINISHED_STATUSES.has(event.status)) return;
    const set = this.waiting.get(event.id);
    if (!set) return;
    for (const w of set) w.settle(true);
  }

  private remove(id: string, w: Waiter): void {
    const set = this.waiting.get(id);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.waiting.delete(id);
    if (this.waiting.size === 0 && this.subscription) {
      if (this.idle) clearTimeout(this.idle);
      this.idle = setTimeout(() => {
        if (this.waiting.size === 0) this.unsubscribe();
      }, this.idleMs);
      this.idle.unref();
    }
  }

  private unsubscribe(): void {
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.then((off) => off()).catch(() => undefined);
  }
}

class Waiter implements WaitTicket {
  private finished = false;
  private done = false;
  private resolve: ((finished: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly detach: () => void) {}

  until(ms: number): Promise<boolean> {
    if (this.done) return Promise.resolve(this.finished);
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.settle(false), ms);
    });
  }

  settle(finished: boolean): void {
    if (this.done) return;
    this.done = true;
    this.finished = finished;
    if (this.timer) clearTimeout(this.timer);
    this.resolve?.(finished);
    this.detach();
  }

  release(): void {
    this.settle(false);
  }
}
