import type { Page } from './api-types.js';
import { ClientErrorCodes, DroverClientError } from './client-error.js';

/**
 * Every item of a cursor-paginated list, page after page, until nextCursor is null. An empty
 * page with a cursor is not the end (the API may answer one); a cursor answered twice in a row is
 * a server fault that would otherwise loop forever.
 */
export async function* cursorPages<T>(read: (cursor: string | undefined) => Promise<Page<T>>, first?: string): AsyncGenerator<T, void, undefined> {
  let cursor = first;
  for (;;) {
    const page = await read(cursor);
    yield* page.items;
    if (page.nextCursor === null || page.nextCursor === undefined) return;
    if (page.nextCursor === cursor) {
      throw new DroverClientError(ClientErrorCodes.UNEXPECTED_RESPONSE, 'The server answered the same cursor twice; stopping rather than reading the same page forever.');
    }
    cursor = page.nextCursor;
  }
}
