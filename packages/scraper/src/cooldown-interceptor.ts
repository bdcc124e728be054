import type { Dispatcher } from 'undici';

/** Per-request observer the scraper attaches to dispatch options; sees every response's status. */
export const COOLDOWN_OBSERVER = Symbol('drover.scraper.cooldownObserver');

export type CooldownObserver = (status: number, headers: Record<string, string | string[] | undefined>) => void;

/**
 * Reports each response's status and headers to the scraper's cooldown (a 429, or a 503 with
 * Retry-After, slows the host down for every worker) before the body is read, then passes
 * everything through untouched.
 */
export function cooldownInterceptor(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const observe = (opts as { [COOLDOWN_OBSERVER]?: CooldownObserver })[COOLDOWN_OBSERVER];
    if (!observe) return dispatch(opts, handler);
    return dispatch(opts, {
      onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, status, headers, socket) => handler.onRequestUpgrade?.(controller, status, headers, socket),
      onResponseStart: (controller, status, headers, message) => {
        if (status === 429 || status === 503) observe(status, headers as Record<string, string | string[] | undefined>);
        return handler.onResponseStart?.(controller, status, headers, message);
      },
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, err) => handler.onResponseError?.(controller, err),
    });
  };
}
