import type { DeadLetterBulk, DeadLetterBulkResult, DeadLetterFilter, ListDeadLettersQuery, Page, TaskRecord } from './api-types.js';
import { cursorPages } from './cursor-pages.js';
import type { HttpTransport } from './http-transport.js';

/** The tenant's tasks that failed for good: list, retry as new tasks, or discard. */
export class DeadLetters {
  constructor(private readonly http: HttpTransport) {}

  /** One page, oldest first; pass nextCursor back as cursor (or use all()). */
  async list(query: ListDeadLettersQuery = {}, options: { signal?: AbortSignal } = {}): Promise<Page<TaskRecord>> {
    return (await this.http.request<Page<TaskRecord>>({ method: 'GET', path: '/v1/dead-letters', query: { ...query }, signal: options.signal })).body;
  }

  /** Every dead letter matching the filter, reading page after page as the loop goes. */
  all(filter: DeadLetterFilter & { pageSize?: number } = {}, options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskRecord, void, undefined> {
    const { pageSize, ...rest } = filter;
    return cursorPages((cursor) => this.list({ ...rest, limit: pageSize, cursor }, options));
  }

  /** Submits it again as a new task (and removes the dead letter); answers the new task. */
  async retry(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskRecord> {
    return (await this.http.request<TaskRecord>({ method: 'POST', path: `/v1/dead-letters/${encodeURIComponent(id)}/retry`, signal: options.signal })).body;
  }

  async discard(id: string, options: { signal?: AbortSignal } = {}): Promise<{ id: string; discarded: boolean }> {
    return (await this.http.request<{ id: string; discarded: boolean }>({ method: 'DELETE', path: `/v1/dead-letters/${encodeURIComponent(id)}`, signal: options.signal })).body;
  }

  /** Retries up to `limit` (default 100) matching dead letters; `more` says whether to call again. */
  async bulkRetry(filter: DeadLetterBulk = {}, options: { signal?: AbortSignal } = {}): Promise<DeadLetterBulkResult> {
    return (await this.http.request<DeadLetterBulkResult>({ method: 'POST', path: '/v1/dead-letters/retry', body: filter, signal: options.signal })).body;
  }

  /** Discards up to `limit` (default 100) matching dead letters; `more` says whether to call again. */
  async bulkDiscard(filter: DeadLetterBulk = {}, options: { signal?: AbortSignal } = {}): Promise<DeadLetterBulkResult> {
    return (await this.http.request<DeadLetterBulkResult>({ method: 'POST', path: '/v1/dead-letters/discard', body: filter, signal: options.signal })).body;
  }
}
