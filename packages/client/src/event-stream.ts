import { DroverRateLimitError, DroverUnavailableError } from './api-error.js';
import type { DroverEvent, TenantEventFilter } from './api-types.js';
import { abortableDelay } from './abortable-delay.js';
import { type RetryOptions, retryDelay } from './backoff.js';
import { ClientErrorCodes, DroverClientError, DroverNetworkError, DroverTimeoutError } from './client-error.js';
import type { HttpTransport, OpenResponse, RequestSpec } from './http-transport.js';
import { RecentIds } from './recent-ids.js';
import { SseParser } from './sse-parser.js';
import { isFinished } from './task-status.js';

export interface EventStreamOptions {
  /** Task streams: include the events of the task's descendants. */
  children?: boolean;
  /** Resume after this event id (as a stream that dropped would). */
  lastEventId?: string;
  /** Ends the iteration (the loop rejects with the signal's reason). */
  signal?: AbortSignal;
  /**
   * Reconnections in a row that may fail before the iterator gives up with the last error; an
   * event received resets the count. Default 10.
   */
  reconnects?: number;
  /**
   * A stream silent this long (no event, no keep-alive comment) is taken as dead and reopened.
   * Default 60 s; keep it above the server's DROVER_SSE_KEEPALIVE_MS (15 s by default).
   */
  idleTimeoutMs?: number;
}

/** What to follow: one task (ends with it) or the tenant's stream (never ends by itself). */
export type EventTarget = { taskId: string } | { tenant: TenantEventFilter };

const KINDS = new Set(['state', 'progress', 'log']);

/**
 * Follows an SSE route, reconnecting with Last-Event-ID after a dropped connection (a network
 * error, a 503 or 429, a stream that went silent, or one that ended before its task did), with
 * backoff, and never yields an event twice. A task stream ends after the task's final state
 * event; 4xx answers end it with their typed error. Breaking out of the loop closes the connection.
 */
export async function* followEvents(http: HttpTransport, target: EventTarget, options: EventStreamOptions, retries: RetryOptions): AsyncGenerator<DroverEvent, void, undefined> {
  const maxReconnects = options.reconnects ?? 10;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const seen = new RecentIds();
  let lastId = options.lastEventId;
  let failures = 0;
  let serverRetryMs: number | undefined;
  const spec = (): RequestSpec => {
    const taskId = 'taskId' in target ? target.taskId : undefined;
    return {
      method: 'GET',
      path: taskId === undefined ? '/v1/events' : `/v1/tasks/${encodeURIComponent(taskId)}/events`,
      query: taskId === undefined ? { ...('tenant' in target ? target.tenant : {}) } : { children: options.children ? true : undefined },
      headers: { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) },
      signal: options.signal,
    };
  };

  for (;;) {
    let lost: unknown;
    let opened: OpenResponse | undefined;
    const request = spec();
    try {
      opened = await http.open(request);
      const type = opened.response.headers.get('content-type') ?? '';
      if (!type.toLowerCase().startsWith('text/event-stream')) {
        // Not a stream (a proxy's page, a wrong base URL): reconnecting would only get the same.
        throw new DroverClientError(ClientErrorCodes.UNEXPECTED_RESPONSE, `GET ${opened.url} answered ${type || 'no content type'}, not text/event-stream; check baseUrl.`);
      }
      const body = opened.response.body;
      if (!body) throw new DroverNetworkError('GET', opened.url, `GET ${opened.url}: the answer has no body to stream.`, { code: ClientErrorCodes.STREAM });
      const reader = body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      const conn = opened;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => conn.close(new DroverTimeoutError('GET', conn.url, idleMs, 'event or keep-alive')), idleMs);
      };
      try {
        arm();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          for (const message of parser.push(decoder.decode(value, { stream: true }))) {
            if (!KINDS.has(message.event)) continue;
            if (message.id) {
              if (!seen.add(message.id)) continue;
              lastId = message.id;
            }
            const event = { event: message.event, id: message.id || undefined, data: eventData(message.data, conn.url) } as DroverEvent;
            failures = 0;
            yield event;
            if ('taskId' in target && event.event === 'state' && event.data.taskId === target.taskId && isFinished(event.data.status)) return;
          }
          serverRetryMs = parser.reconnectMs ?? serverRetryMs;
        }
      } catch (err) {
        throw err instanceof DroverClientError ? err : http.failure(err, request, conn.url, conn.signal);
      } finally {
        clearTimeout(idle);
      }
      lost = new DroverNetworkError('GET', opened.url, `GET ${opened.url}: the event stream ended before ${'taskId' in target ? 'the task finished' : 'it was closed'}.`, {
        code: ClientErrorCodes.STREAM,
      });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!reconnectable(err)) throw err;
      lost = err;
    } finally {
      opened?.close();
    }
    failures++;
    if (failures > maxReconnects) throw lost;
    const retryAfterMs = lost instanceof DroverRateLimitError || lost instanceof DroverUnavailableError ? lost.retryAfterMs : undefined;
    const wait = retryDelay(failures, retries, retryAfterMs) ?? retries.maxMs;
    await abortableDelay(Math.max(wait, serverRetryMs ?? 0), options.signal);
  }
}

function reconnectable(err: unknown): boolean {
  return err instanceof DroverNetworkError || err instanceof DroverUnavailableError || err instanceof DroverRateLimitError;
}

/** A data field that is not JSON is a server fault; resuming would only replay it, so it ends the stream. */
function eventData(data: string, url: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new DroverClientError(ClientErrorCodes.UNEXPECTED_RESPONSE, `GET ${url}: an event's data is not JSON: ${data.slice(0, 200)}`);
  }
}
