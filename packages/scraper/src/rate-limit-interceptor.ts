import type { Dispatcher } from 'undici';
import { hopOf } from './scrape-hop.js';

/**
 * Holds each request until its rate limits admit it (cluster-wide, through the hooks of the
 * scrape it belongs to), then lets it through. Sitting in the dispatcher means every hop of a
 * redirect chain is counted. A gate that fails (deadline, abort) fails the request before a
 * byte is sent.
 */
export function rateLimitInterceptor(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const hop = hopOf(opts);
    const waiting = hop?.hooks.gate(hop.url);
    if (!waiting) return dispatch(opts, handler);
    waiting.then(
      () => dispatch(opts, handler),
      (err: Error) => handler.onResponseError?.(null as never, err),
    );
    return true;
  };
}
