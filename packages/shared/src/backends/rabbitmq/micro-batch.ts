/**
 * Gathers the calls made in one turn of the event loop and runs them as one batch (one Redis
 * round trip and one script run instead of one per task). Each caller gets its own result.
 */
export class MicroBatch<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxSize = 500,
    /** 'microtask' suits calls made synchronously in one burst (deliveries from one socket read). */
    private readonly defer: 'immediate' | 'microtask' = 'immediate',
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.defer === 'microtask') queueMicrotask(() => this.flush());
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.run(batch.map((b) => b.item)).then(
      (outs) => {
        for (const [i, b] of batch.entries()) b.resolve(outs[i]!);
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  }
}
