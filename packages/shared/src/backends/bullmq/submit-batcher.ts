/** Largest batch one flush sends; more waiting requests go in the next flush. */
const MAX_BATCH = 1000;
/** Flushes allowed in flight at once; later submits wait for one to come back. */
const MAX_IN_FLIGHT = 1;

/**
 * Group commit for submits: requests that arrive while a flush is in flight wait for it and go
 * together in the next one. So N concurrent requests cost about one Redis round trip, and Node
 * prepares the next batch while Redis runs the current one (no lock-step between the two).
 * A lone submit waits one event-loop turn (setImmediate) so that requests parsed in the same
 * poll phase share its flush.
 * `flush` answers per request: a result, or an Error for that request alone.
 */
export class SubmitBatcher<Req, Res> {
  private pending: Array<{ req: Req; resolve: (res: Res) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly flush: (reqs: Req[]) => Promise<Array<Res | Error>>) {}

  add(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (this.pending.length >= MAX_BATCH) this.run();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.inFlight++;
    this.flush(batch.map((b) => b.req)).then(
      (results) => {
        this.settled();
        results.forEach((r, i) => {
          const b = batch[i]!;
          if (r instanceof Error) b.reject(r);
          else b.resolve(r);
        });
      },
      (err: unknown) => {
        this.settled();
        for (const b of batch) b.reject(err);
      },
    );
  }

  /**
   * Sends what accumulated meanwhile at once, before the settled batch's callers run: Redis then
   * works on the next batch while Node writes this batch's answers.
   */
  private settled(): void {
    this.inFlight--;
    if (this.pending.length > 0) this.run();
  }
}

