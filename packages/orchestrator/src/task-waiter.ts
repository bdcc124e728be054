import { type Backend, FINISHED_STATUSES, type TaskEvent } from '@drover/shared';

/** A registration made before reading the task, so a finish in between is not missed. */
export interface WaitTicket {
  /** Resolves true when the task finished, false when `ms` elapsed or the ticket was released. */
  until(ms: number): Promise<boolean>;
  /** Frees the registration; safe to call more than once. */
  release(): void;
}

/**
 * Long-poll support: ONE backend event subscription per app, fanned out to the requests waiting
 * on each task id, instead of a subscription per request.
 */
export class TaskWaiter {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly backend: Backend) {}

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = await this.backend.onEvent((event) => this.onEvent(event));
  }

  /** Stops listening and lets every pending long-poll answer now with the current record. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const set of this.waiting.values()) for (const w of set) w.settle(false);
    this.waiting.clear();
  }

  /** Number of ids with pending waiters (for tests and leak checks). */
  get size(): number {
    return this.waiting.size;
  }

  watch(id: string): WaitTicket {
    const w = new Waiter(() => this.remove(id, w));
    let set = this.waiting.get(id);
    if (!set) {
      set = new Set();
      this.waiting.set(id, set);
    }
    set.add(w);
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
