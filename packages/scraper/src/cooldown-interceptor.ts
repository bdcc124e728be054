import type { Dispatcher } from 'undici';
import { hopOf, type ScrapeHop } from './scrape-hop.js';

/**
 * Reports 429 and 503 responses to the scrape's cooldown (a 429, or a 503 with Retry-After,
 * slows the host down for every worker) before the body is read; everything else passes
 * through untouched.
 */
export function cooldownInterceptor(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const hop = hopOf(opts);
    return dispatch(opts, hop ? new CooldownHandler(hop, handler) : handler);
  };
}

class CooldownHandler implements Dispatcher.DispatchHandler {
  constructor(
    private readonly hop: ScrapeHop,
    private readonly handler: Dispatcher.DispatchHandler,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: Dispatcher.DispatchController, status: number, headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[2], socket: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[3]): void {
    this.handler.onRequestUpgrade?.(controller, status, headers, socket);
  }
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2], message: string): void {
    if (status === 429 || status === 503) this.hop.hooks.observe(this.hop.url, status, headers as Record<string, string | string[] | undefined>);
    this.handler.onResponseStart?.(controller, status, headers, message);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseEnd']>>[1]): void {
    this.handler.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    this.handler.onResponseError?.(controller, err);
  }
}
