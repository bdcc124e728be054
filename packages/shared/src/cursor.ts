import { DroverError } from './errors.js';

/** Opaque list cursors: base64url JSON of string fields, checked on the way back in. */
export function encodeCursor(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

export function decodeCursor(cursor: string, required: readonly string[]): Record<string, string> {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && required.every((k) => typeof (parsed as Record<string, unknown>)[k] === 'string')) {
      return parsed as Record<string, string>;
    }
  } catch {
    // fall through
  }
  throw new DroverError('BAD_CURSOR', 'The cursor is not one this server issued; pass nextCursor from a previous page unchanged.');
}
