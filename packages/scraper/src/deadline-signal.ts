import { EventEmitter } from 'node:events';

/** What undici accepts as a request signal: an emitter of 'abort' with `aborted` and `reason`. */
export class AbortEmitter extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
}

/**
 * Aborts a scrape when its budget runs out or the caller aborts. undici gets a plain
 * EventEmitter (it accepts one as a signal): creating an AbortSignal and adding/removing its
 * EventTarget listener per request cost about a fifth of loopback throughput in the benchmark.
 * A real AbortSignal is made only when something needs one (a rate-limit sleep, ZenRows).
 */
export class DeadlineSignal {
  readonly emitter = new AbortEmitter();
  timedOut = false;
  private controller: AbortController | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(
    budgetMs: number,
    private readonly caller?: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(
      () => {
        this.timedOut = true;
        this.abort(new DOMException('The scrape exceeded its time budget', 'TimeoutError'));
      },
      Math.max(1, budgetMs),
    );
    if (caller) {
      this.onCallerAbort = () => this.abort(caller.reason);
      if (caller.aborted) this.onCallerAbort();
      else caller.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  /** A standard AbortSignal tied to this deadline, created on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.emitter.aborted) this.controller.abort(this.emitter.reason);
    }
    return this.controller.signal;
  }

  private abort(reason: unknown): void {
    if (this.emitter.aborted) return;
    this.emitter.aborted = true;
    this.emitter.reason = reason;
    this.emitter.emit('abort');
    this.controller?.abort(reason);
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort) this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
