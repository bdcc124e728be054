import { type Backend, SuspendSignal } from '@drover/shared';
import { AgentCap } from './agent-cap.js';

/** A held-back task tries again after a pause in this range (jittered, so they do not move as one). */
const RETRY_MIN_MS = 200;
const RETRY_SPREAD_MS = 600;

/**
 * Cluster-wide caps that hold a task back rather than make it wait in a slot: a tenant's running
 * tasks (DROVER_TENANT_MAX_RUNNING) and a task type's per-key concurrency. Each is a permit pool in
 * the backend (backend.permits), taken like the agent cap's. A task that cannot take every permit it
 * needs is suspended with no children to wait for: it gives its slot back, shows as `waiting`, is
 * not runnable backlog, and runs again after a short jittered pause.
 */
export class HeldBack {
  private readonly caps = new Map<string, AgentCap>();

  constructor(
    private readonly backend: Backend,
    private readonly holder: string,
    private readonly leaseMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * Takes a permit of each pool (name and limit), in order; on the first refusal gives back what it
   * took and throws the SuspendSignal that holds the task back. Returns the release for the end.
   */
  async take(pools: ReadonlyArray<readonly [string, number]>): Promise<() => void> {
    const taken: AgentCap[] = [];
    for (const [name, limit] of pools) {
      const cap = this.cap(name, limit);
      if (await cap.tryAcquire()) {
        taken.push(cap);
        continue;
      }
      for (const t of taken) t.release();
      throw new SuspendSignal({ ids: [], mode: 'all', delayMs: RETRY_MIN_MS + Math.floor(Math.random() * RETRY_SPREAD_MS) });
    }
    return () => {
      for (const t of taken) t.release();
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.caps.values()].map((c) => c.close()));
    this.caps.clear();
  }

  private cap(name: string, limit: number): AgentCap {
    let cap = this.caps.get(name);
    if (!cap) {
      // Idle pools are dropped as others are made, so keys of high cardinality do not pile up.
      if (this.caps.size > 1000) {
        for (const [n, c] of this.caps) {
          if (c.idle) {
            void c.close();
            this.caps.delete(n);
          }
        }
      }
      cap = new AgentCap({ store: this.backend.permits(name), holder: this.holder, limit, leaseMs: this.leaseMs, onError: this.onError });
      this.caps.set(name, cap);
    }
    return cap;
  }
}
