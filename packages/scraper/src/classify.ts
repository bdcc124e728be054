import type { CheerioAPI } from 'cheerio';
import { visibleText } from './visible-text.js';

export type Verdict =
  | { kind: 'ok' }
  | { kind: 'blocked'; reason: BlockReason }
  | { kind: 'needs-js'; reason: 'spa-shell' };

export type BlockReason = 'cloudflare' | 'datadome' | 'perimeterx' | 'incapsula' | 'http-401' | 'http-403' | 'http-429';

export interface ClassifyInput {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed HTML, when the response is HTML. */
  $?: CheerioAPI | undefined;
  html?: string | undefined;
}

/**
 * Decides whether a standard fetch got the page, a bot wall, or a JavaScript shell. Each signal
 * is one a vendor documents or always emits; a page merely mentioning "cloudflare" is not
 * blocked. Order matters: vendor walls first (they explain a 403 better than "http-403").
 */
export function classify(input: ClassifyInput): Verdict {
  const { status } = input;
  const header = (name: string) => {
    const v = input.headers[name];
    return Array.isArray(v) ? v.join(', ') : (v ?? '');
  };
  const cookies = ([] as string[]).concat(input.headers['set-cookie'] ?? []).map((c) => c.split('=')[0]!.trim().toLowerCase());
  const title = input.$ ? input.$('title').first().text().trim() : '';
  const html = input.html ?? '';
  const denied = status === 401 || status === 403 || status === 429 || status === 503;

  // Cloudflare: cf-mitigated: challenge is the documented marker of a challenge response; older
  // interstitials are a 403/503 from server: cloudflare with the challenge title or platform path.
  if (header('cf-mitigated').toLowerCase() === 'challenge') return blocked('cloudflare');
  if (denied && header('server').toLowerCase() === 'cloudflare') {
    if (title === 'Just a moment...' || title.startsWith('Attention Required! | Cloudflare') || html.includes('/cdn-cgi/challenge-platform/')) {
      return blocked('cloudflare');
    }
  }
  // DataDome: the x-datadome response header or its cookie on a refusal; its captcha comes from captcha-delivery.com.
  if (denied && (header('x-datadome') !== '' || cookies.includes('datadome') || html.includes('geo.captcha-delivery.com'))) {
    return blocked('datadome');
  }
  // PerimeterX / HUMAN: the block page mounts #px-captcha and sets window._pxAppId.
  if (denied && (input.$?.('#px-captcha').length || html.includes('window._pxAppId'))) return blocked('perimeterx');
  // Incapsula / Imperva: the challenge is an iframe to /_Incapsula_Resource, often with status 200,
  // so it is recognised by that resource plus an Incapsula cookie or the X-Iinfo header.
  const incapCookie = cookies.some((c) => c.startsWith('incap_ses_') || c.startsWith('visid_incap_'));
  if (html.includes('/_Incapsula_Resource') && (incapCookie || header('x-iinfo') !== '' || denied)) return blocked('incapsula');

  if (status === 401) return blocked('http-401');
  if (status === 403) return blocked('http-403');
  if (status === 429) return blocked('http-429');

  if (status >= 200 && status < 300 && input.$ && isSpaShell(input.$)) return { kind: 'needs-js', reason: 'spa-shell' };
  return { kind: 'ok' };
}

function blocked(reason: BlockReason): Verdict {
  return { kind: 'blocked', reason };
}

/** Visible text below this many characters counts as "nothing rendered". */
const SHELL_MAX_TEXT = 200;
/** ...when scripts outweigh it by this ratio. */
const SHELL_SCRIPT_RATIO = 5;

/**
 * An SPA shell: almost no visible text, much more script than text, and either an empty mount
 * point (#root, #app, #__next, [ng-app]…) or a <noscript> asking for JavaScript.
 */
export function isSpaShell($: CheerioAPI): boolean {
  const scripts = $('script');
  if (scripts.length === 0) return false;
  let scriptChars = 0;
  scripts.each((_, el) => {
    const src = $(el).attr('src');
    // An external bundle counts as a large script: its size is not in the page.
    scriptChars += src ? 10_000 : $(el).text().length;
  });
  const text = visibleText($('body').toArray());
  if (text.length >= SHELL_MAX_TEXT) return false;
  if (scriptChars < Math.max(1, text.length) * SHELL_SCRIPT_RATIO) return false;
  const emptyMount = $('#root, #app, #__next, #__nuxt, [ng-app], [data-reactroot]')
    .toArray()
    .some((el) => $(el).text().trim() === '');
  const noscriptAsksForJs = /enable javascript|requires javascript|javascript (is )?(required|disabled)/i.test($('noscript').text());
  return emptyMount || noscriptAsksForJs;
}
