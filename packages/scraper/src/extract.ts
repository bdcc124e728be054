import { type CheerioAPI, load } from 'cheerio';
import TurndownService from 'turndown';

export type OutputFormat = 'html' | 'text' | 'markdown';

export interface Extracted {
  content: string;
  title: string | undefined;
  links: string[];
}

const MAX_LINKS = 1000;
const BLOCKS = 'p, div, section, article, main, header, footer, nav, aside, h1, h2, h3, h4, h5, h6, li, ul, ol, tr, table, blockquote, pre, dd, dt, figure, figcaption, form, hr';

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
  $('a[href]').each((_, el) => {
    if (links.size >= MAX_LINKS) return false;
    try {
      const u = new URL($(el).attr('href')!, base);
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
  } else {
    const clone = scope.clone();
    clone.find('script, style, noscript, template').remove();
    if (format === 'text') {
      // Block elements become line breaks, so "Heading" and "First para." do not run together.
      clone.find(BLOCKS).each((_, el) => {
        $(el).prepend('\n').append('\n');
      });
      clone.find('br').replaceWith('\n');
      content = clone
        .toArray()
        .map((el) => $(el).text())
        .join('\n')
        .split('\n')
        .map((line) => line.replace(/\s+/g, ' ').trim())
        .filter((line) => line.length > 0)
        .join('\n');
    } else {
      const html = clone
        .toArray()
        .map((el) => $.html(el))
        .join('\n');
      content = markdown().turndown(html).trim();
    }
  }
  return { content, title, links: [...links] };
}

function markdown(): TurndownService {
  return new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced' });
}
