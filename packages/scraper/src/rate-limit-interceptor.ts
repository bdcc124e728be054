import type { Dispatcher } from 'undici';

/** Per-request gate the scraper attaches to dispatch options; resolves when the limits admit it. */
export const RATE_GATE = Symbol('drover.scraper.rateGate');

export type RateGate = () => Promise<unknown> | undefined;

/**
 * Holds each request until its rate limits admit it (cluster-wide, via the gate the scraper
 * attached), then lets it through. Sitting in the dispatcher means every hop of a redirect chain
 * and every retry is counted, whoever sends it. A gate that fails (deadline, abort) fails the
 * request before a byte is sent.
 */
export function rateLimitInterceptor(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const gate = (opts as { [RATE_GATE]?: RateGate })[RATE_GATE];
    const waiting = gate?.();
    if (!waiting) return dispatch(opts, handler);
    waiting.then(
      () => dispatch(opts, handler),
      (err: Error) => handler.onResponseError?.(null as never, err),
    );
    return true;
  };
}
