/**
 * A counting semaphore for one process. FIFO, so a waiting task is never overtaken forever.
 * `peak` records the most permits ever held at once (tests use it to prove a cap holds).
 */
export class Semaphore {
  private held = 0;
  private readonly waiters: Array<() => void> = [];
  peak = 0;

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.held;
  }

  /** Takes a permit if one is free, without waiting (the hot path: no promise). */
  tryAcquire(): boolean {
    if (this.held >= this.size) return false;
    this.take();
    return true;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return;
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.take();
        resolve();
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  release(): void {
    this.held--;
    this.waiters.shift()?.();
  }

  private take(): void {
    this.held++;
    if (this.held > this.peak) this.peak = this.held;
  }
}
