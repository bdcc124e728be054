import { type CheerioAPI, load } from 'cheerio';
import TurndownService from 'turndown';
import { visibleText } from './visible-text.js';

export type OutputFormat = 'html' | 'text' | 'markdown';

export interface Extracted {
  content: string;
  title: string | undefined;
  links: string[];
}

const MAX_LINKS = 1000;

export function parseHtml(html: string): CheerioAPI {
  return load(html);
}

/**
 * Turns a page into the requested format, optionally only the parts a CSS selector picks.
 * Links are absolute (resolved against <base href> and the final URL), http(s) only, deduplicated.
 */
export function extractHtml($: CheerioAPI, finalUrl: string, format: OutputFormat, selector?: string): Extracted {
  const title = $('title').first().text().trim() || undefined;
  let base = finalUrl;
  const baseHref = $('base[href]').attr('href');
  if (baseHref) {
    try {
      base = new URL(baseHref, finalUrl).toString();
    } catch {
      // a broken <base> is ignored, as browsers do
    }
  }
  const links = new Set<string>();
  const seen = new Set<string>();
  $('a[href]').each((_, el) => {
    if (links.size >= MAX_LINKS) return false;
    const href = $(el).attr('href')!;
    if (seen.has(href)) return undefined;
    seen.add(href);
    try {
      const u = new URL(href, base);
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        u.hash = '';
        links.add(u.toString());
      }
    } catch {
      // unparseable href: skip
    }
    return undefined;
  });
  const scope = selector ? $(selector) : $('body').length ? $('body') : $.root();
  let content: string;
  if (format === 'html') {
    content = selector ? scope.toArray().map((el) => $.html(el)).join('\n') : $.html();
  } else if (format === 'text') {
    content = visibleText(scope.toArray());
  } else {
    const clone = scope.clone();
    clone.find('script, style, noscript, template').remove();
    const html = clone
      .toArray()
      .map((el) => $.html(el))
      .join('\n');
    content = markdown().turndown(html).trim();
  }
  return { content, title, links: [...links] };
}

function markdown(): TurndownService {
  return new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced' });
}
