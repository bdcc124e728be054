/**
 * What the scraper's interceptors need to know about one request (one redirect hop): its URL and
 * the hooks of the scrape it belongs to. It rides on the dispatch options under a symbol, so
 * undici passes it through untouched.
 */
export const SCRAPE_HOP = Symbol('drover.scraper.hop');

export interface HopHooks {
  /** Resolves when the rate limits admit a request to `url`; undefined when admitted already. */
  gate(url: URL): Promise<unknown> | undefined;
  /** Sees a 429/503 response's status and headers (cooldown). */
  observe(url: URL, status: number, headers: Record<string, string | string[] | undefined>): void;
}

export interface ScrapeHop {
  url: URL;
  hooks: HopHooks;
}

export function hopOf(opts: object): ScrapeHop | undefined {
  return (opts as { [SCRAPE_HOP]?: ScrapeHop })[SCRAPE_HOP];
}
