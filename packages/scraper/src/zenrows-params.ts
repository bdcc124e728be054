import type { ScrapeZenrowsOptions } from '@drover/shared';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';

const BLOCKABLE = new Set(['stylesheet', 'image', 'media', 'font', 'script', 'xhr', 'fetch', 'other']);

/**
 * Refuses option combinations the ZenRows API rejects with a 400, before a request (and the
 * failure counter ZenRows keeps against the key) is spent.
 */
export function validateZenrowsOptions(o: ScrapeZenrowsOptions): void {
  const problems: string[] = [];
  const needsJs = (name: string) => problems.push(`${name} needs js_render: true`);
  if (o.wait !== undefined && !o.js_render) needsJs('wait');
  if (o.wait_for !== undefined && !o.js_render) needsJs('wait_for');
  if (o.block_resources !== undefined && !o.js_render) needsJs('block_resources');
  if (o.wait !== undefined && (o.wait < 0 || o.wait > 30_000)) problems.push('wait must be 0..30000 ms');
  if (o.proxy_country !== undefined && !o.premium_proxy) problems.push('proxy_country needs premium_proxy: true');
  if (o.proxy_country !== undefined && !/^[a-z]{2}$/i.test(o.proxy_country)) problems.push('proxy_country must be a two-letter country code');
  if (o.mode === 'auto' && (o.js_render || o.premium_proxy)) problems.push('mode "auto" picks js_render and premium_proxy itself; do not set them');
  if (o.response_type !== undefined && o.css_extractor !== undefined) problems.push('response_type and css_extractor are alternatives; set one');
  if (o.block_resources !== undefined) {
    const bad = o.block_resources.split(',').filter((r) => !BLOCKABLE.has(r.trim()));
    if (bad.length > 0) problems.push(`block_resources accepts ${[...BLOCKABLE].join(', ')}; got ${bad.join(', ')}`);
  }
  if (o.session_id !== undefined && (!Number.isInteger(o.session_id) || o.session_id < 1 || o.session_id > 99_999)) {
    problems.push('session_id must be an integer from 1 to 99999');
  }
  if (problems.length > 0) {
    throw new ScrapeError(ScrapeErrorCodes.ZENROWS_BAD_PARAMS, `Invalid ZenRows options: ${problems.join('; ')}.`, { details: { problems } });
  }
}

/** The query string of one ZenRows request (the key is added by the client, never logged). */
export function zenrowsQuery(target: string, o: ScrapeZenrowsOptions, customHeaders: boolean): URLSearchParams {
  const q = new URLSearchParams({ url: target });
  if (o.js_render) q.set('js_render', 'true');
  if (o.wait !== undefined) q.set('wait', String(o.wait));
  if (o.wait_for !== undefined) q.set('wait_for', o.wait_for);
  if (o.block_resources !== undefined) q.set('block_resources', o.block_resources);
  if (o.premium_proxy) q.set('premium_proxy', 'true');
  if (o.proxy_country !== undefined) q.set('proxy_country', o.proxy_country.toLowerCase());
  if (o.mode === 'auto') q.set('mode', 'auto');
  if (o.response_type !== undefined) q.set('response_type', o.response_type);
  if (o.css_extractor !== undefined) q.set('css_extractor', JSON.stringify(o.css_extractor));
  if (o.session_id !== undefined) q.set('session_id', String(o.session_id));
  if (o.original_status) q.set('original_status', 'true');
  if (customHeaders) q.set('custom_headers', 'true');
  return q;
}
