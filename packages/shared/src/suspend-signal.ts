/**
 * What a suspended task waits for: all of `ids` to finish, or any one of them. With no ids it
 * waits for nothing but `delayMs` (a task held back by a cap: it tries again after that long).
 */
export interface ChildWait {
  ids: string[];
  mode: 'all' | 'any';
  /** Runs again after this long at the latest (default: RESUME_CHECK_MS, the backstop). */
  delayMs?: number;
}

/**
 * Thrown by handle.result(), ctx.all() and ctx.race() when the children they wait on have not
 * finished. It ends the attempt as `suspended`: the parent gives up its worker slot and runs
 * again, from the top, once they have (see docs/agents.md). A handler must let it through: catch
 * blocks that swallow every error should rethrow it (`if (isSuspend(err)) throw err`).
 */
export class SuspendSignal extends Error {
  constructor(readonly wait: ChildWait) {
    super('Waiting for child tasks; the task is suspended and runs again when they finish.');
    this.name = 'SuspendSignal';
  }
}

export function isSuspend(err: unknown): err is SuspendSignal {
  return err instanceof SuspendSignal;
}
