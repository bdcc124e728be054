/**
 * An AbortController that also aborts when any of `parents` does (with the parent's reason).
 * AbortSignal.any would do this, but not every browser the SDK targets has it yet.
 * dispose() detaches from the parents, so long-lived caller signals do not collect listeners.
 */
export class LinkedAbort {
  private readonly controller = new AbortController();
  private readonly detach: Array<() => void> = [];

  constructor(...parents: Array<AbortSignal | undefined>) {
    for (const parent of parents) {
      if (!parent) continue;
      if (parent.aborted) {
        this.controller.abort(parent.reason);
        break;
      }
      const onAbort = () => this.controller.abort(parent.reason);
      parent.addEventListener('abort', onAbort, { once: true });
      this.detach.push(() => parent.removeEventListener('abort', onAbort));
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    this.controller.abort(reason);
  }

  dispose(): void {
    for (const off of this.detach.splice(0)) off();
  }
}
