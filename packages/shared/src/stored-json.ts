import { DroverError } from './errors.js';

/**
 * A value a backend cannot store is the request's fault, not the backend's: JSON.stringify throws
 * a RangeError for a value nested deeper than the stack allows and a TypeError for a BigInt or a
 * cycle. Backends turn those into DROVER_ERR_INPUT_UNSTORABLE (400) for that one task, so a
 * batch that shares a round trip with it is not failed, and clients are not told to retry.
 */
export function unstorable(err: unknown, what = 'task input'): DroverError | undefined {
  if (err instanceof DroverError) return err;
  if (err instanceof RangeError) {
    return new DroverError('INPUT_UNSTORABLE', `The ${what} is nested too deeply to be stored; flatten it (the API refuses JSON deeper than DROVER_JSON_MAX_DEPTH).`, { cause: err });
  }
  if (err instanceof TypeError) return new DroverError('INPUT_UNSTORABLE', `The ${what} cannot be stored as JSON: ${err.message}.`, { cause: err });
  return undefined;
}

/** JSON.stringify, with an unstorable value reported as DROVER_ERR_INPUT_UNSTORABLE. */
export function storedJson(value: unknown, what?: string): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw unstorable(err, what) ?? err;
  }
}

/** Runs `op` (which serialises a value), reporting an unstorable value as DROVER_ERR_INPUT_UNSTORABLE. */
export function storing<T>(op: () => T, what?: string): T {
  try {
    return op();
  } catch (err) {
    throw unstorable(err, what) ?? err;
  }
}
