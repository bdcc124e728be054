/** Largest batch one flush sends; more waiting requests go in the next flush. */
const MAX_BATCH = 1000;

/**
 * Coalesces submit() calls made in the same event-loop turn (the HTTP requests one poll phase
 * delivers) into one bulk call, so N concurrent requests cost about one Redis round trip.
 * `flush` answers per request: a result, or an Error for that request alone.
 */
export class SubmitBatcher<Req, Res> {
  private pending: Array<{ req: Req; resolve: (res: Res) => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly flush: (reqs: Req[]) => Promise<Array<Res | Error>>) {}

  add(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.run());
      this.pending.push({ req, resolve, reject });
      if (this.pending.length >= MAX_BATCH) this.run();
    });
  }

  private run(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.flush(batch.map((b) => b.req)).then(
      (results) => {
        results.forEach((r, i) => {
          const b = batch[i]!;
          if (r instanceof Error) b.reject(r);
          else b.resolve(r);
        });
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  }
}
