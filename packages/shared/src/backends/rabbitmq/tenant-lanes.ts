import type { Broker } from './broker.js';
import type { TaskStore } from './task-store.js';

/**
 * The tenant lanes this instance has published to. Before the first message of a tenant goes to
 * a queue, its lane is declared on the broker (a message sent to a missing queue is dropped) and
 * recorded in Redis with a note to the queue's consumers (a lane no consumer knows of would hold
 * its messages until the next consumer starts); both are idempotent, so any instance may repeat
 * them, and a crash between them only repeats them on the next publish. Concurrent publishes of a
 * new lane share one declaration; a failed one is forgotten, so the next publish tries again.
 */
export class TenantLanes {
  /** `queue\0tenant` of lanes that exist. */
  private readonly ready = new Set<string>();
  /** `queue\0tenant` -> its declaration under way. */
  private readonly declaring = new Map<string, Promise<void>>();

  constructor(
    private readonly broker: Broker,
    private readonly store: TaskStore,
  ) {}

  async ensure(queue: string, messages: ReadonlyArray<{ tenant: string }>): Promise<void> {
    let last = '';
    const pending: Array<Promise<void>> = [];
    for (const { tenant } of messages) {
      if (tenant === '' || tenant === last) continue; // a batch is mostly one tenant's
      last = tenant;
      const key = `${queue}\0${tenant}`;
      if (this.ready.has(key)) continue;
      let p = this.declaring.get(key);
      if (!p) {
        p = this.declare(queue, tenant).then(
          () => {
            this.ready.add(key);
            this.declaring.delete(key);
          },
          (err: unknown) => {
            this.declaring.delete(key);
            throw err;
          },
        );
        this.declaring.set(key, p);
      }
      pending.push(p);
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  private async declare(queue: string, tenant: string): Promise<void> {
    await this.broker.ensureQueue(queue, tenant);
    await this.store.addLanes(queue, [tenant]);
  }
}
