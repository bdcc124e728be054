import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScraper, ScrapeErrorCodes, type Scraper } from '../src/index.js';
import { scraperConfig } from './fixtures/config.js';
import { html, TargetServer } from './fixtures/target-server.js';

const PAGE = `<!doctype html><html><head><title>Hello page</title></head><body>
<nav><a href="/a">A</a> <a href="b?x=1#frag">B</a> <a href="mailto:x@y">mail</a> <a href="https://other.example/c">C</a></nav>
<article><h1>Heading</h1><p>First <strong>para</strong>.</p><script>var hidden = 1;</script></article>
</body></html>`;

describe('standard mode on real sockets', () => {
  let target: TargetServer;
  let scraper: Scraper;

  beforeAll(async () => {
    target = await TargetServer.start({
      '/page': (_req, res) => html(res, PAGE),
      '/r1': (_req, res) => res.writeHead(301, { location: '/r2' }).end(),
      '/r2': (_req, res) => res.writeHead(302, { location: '/page' }).end(),
      '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
      '/slow-body': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><body>start');
        // never finishes: the body timeout must fire
      },
      '/slow-headers': () => undefined,
      '/big-declared': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(5_000_000) }).end(),
      '/big-chunked': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 2_000_000) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
      '/gzip-bomb': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(5_000_000, 'a'))),
      '/latin1-header': (_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' }).end(Buffer.from('<title>caf\xe9</title><p>na\xefve</p>', 'latin1')),
      '/sjis-meta': (_req, res) =>
        res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.concat([Buffer.from('<html><head><meta charset="shift_jis"><title>'), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('</title></head></html>')])),
      '/win1252-http-equiv': (_req, res) =>
        res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><title>\x93quoted\x94</title>', 'latin1')),
      '/utf8-default': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.from('<title>ünïcödé ✓</title>', 'utf8')),
      '/gzip': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(PAGE)),
      '/br': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'br' }).end(brotliCompressSync(PAGE)),
      '/deflate': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'deflate' }).end(deflateSync(PAGE)),
      '/pdf': (_req, res) => res.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF-1.4'),
      '/json': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'),
      '/echo-headers': (req, res) => html(res, `<title>${req.headers['x-drover-test'] ?? ''}|${req.headers['accept-encoding'] ?? ''}</title>`),
      '/cross-origin-redirect': (_req, res, s) => res.writeHead(302, { location: `http://127.0.0.1:${s.port}/echo-auth` }).end(),
    });
    scraper = createScraper({
      config: scraperConfig({
        allowHosts: [`localhost:${target.port}`],
        perDomainPerMinute: 100_000,
        maxResponseSize: 1_000_000,
        bodyTimeoutMs: 300,
        headersTimeoutMs: 300,
        maxRedirects: 3,
      }),
    });
  });
  afterAll(async () => {
    await scraper.close();
    await target.close();
  });

  it('extracts text, title and absolute http(s) links', async () => {
    const r = await scraper.scrape({ url: target.url('/page'), mode: 'standard', format: 'text' });
    expect(r).toMatchObject({ status: 200, mode: 'standard', title: 'Hello page', finalUrl: target.url('/page') });
    expect(r.content).toBe('A B mail C\nHeading\nFirst para.');
    expect(r.content).not.toContain('hidden');
    expect(r.links).toEqual([target.url('/a'), target.url('/b?x=1'), 'https://other.example/c']);
    expect(r.bytes).toBe(Buffer.byteLength(PAGE));
    expect(r.blocked).toBeUndefined();
  });

  it('renders markdown and html, and honours a selector', async () => {
    const md = await scraper.scrape({ url: target.url('/page'), mode: 'standard', format: 'markdown', selector: 'article' });
    expect(md.content).toBe('# Heading\n\nFirst **para**.');
    const h = await scraper.scrape({ url: target.url('/page'), mode: 'standard', format: 'html', selector: 'h1' });
    expect(h.content).toBe('<h1>Heading</h1>');
  });

  it('follows redirects manually and reports the final URL', async () => {
    const r = await scraper.scrape({ url: target.url('/r1'), mode: 'standard' });
    expect(r.finalUrl).toBe(target.url('/page'));
    expect(r.redirects).toBe(2);
  });

  it('stops a redirect loop at the cap', async () => {
    await expect(scraper.scrape({ url: target.url('/loop'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TOO_MANY_REDIRECTS });
  });

  it('times out a body that stalls, and headers that never come', async () => {
    await expect(scraper.scrape({ url: target.url('/slow-body'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TIMEOUT, retryable: true });
    await expect(scraper.scrape({ url: target.url('/slow-headers'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TIMEOUT, retryable: true });
  });

  it('honours the task timeout as a whole-scrape budget', async () => {
    const s = createScraper({ config: scraperConfig({ allowHosts: [`localhost:${target.port}`], bodyTimeoutMs: 60_000, headersTimeoutMs: 60_000 }) });
    try {
      await expect(s.scrape({ url: target.url('/slow-headers'), mode: 'standard', timeoutMs: 200 })).rejects.toMatchObject({ code: ScrapeErrorCodes.TIMEOUT });
    } finally {
      await s.close();
    }
  });

  it('refuses oversized bodies: declared, streamed and decompressed', async () => {
    await expect(scraper.scrape({ url: target.url('/big-declared'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TOO_LARGE, retryable: false });
    await expect(scraper.scrape({ url: target.url('/big-chunked'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TOO_LARGE });
    await expect(scraper.scrape({ url: target.url('/gzip-bomb'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.TOO_LARGE });
  });

  it('decodes charsets from the header, from <meta>, and defaults to UTF-8', async () => {
    expect((await scraper.scrape({ url: target.url('/latin1-header'), mode: 'standard' })).title).toBe('café');
    expect((await scraper.scrape({ url: target.url('/sjis-meta'), mode: 'standard' })).title).toBe('日本');
    expect((await scraper.scrape({ url: target.url('/win1252-http-equiv'), mode: 'standard' })).title).toBe('\u201cquoted\u201d');
    expect((await scraper.scrape({ url: target.url('/utf8-default'), mode: 'standard' })).title).toBe('ünïcödé ✓');
  });

  it('decodes gzip, br and deflate', async () => {
    for (const path of ['/gzip', '/br', '/deflate']) {
      const r = await scraper.scrape({ url: target.url(path), mode: 'standard' });
      expect(r.title, path).toBe('Hello page');
    }
  });

  it('refuses content types outside the allow-list and passes JSON through as text', async () => {
    await expect(scraper.scrape({ url: target.url('/pdf'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.CONTENT_TYPE });
    const r = await scraper.scrape({ url: target.url('/json'), mode: 'standard' });
    expect(r.content).toBe('{"a":1}');
  });

  it('sends task headers but refuses connection-level ones', async () => {
    const r = await scraper.scrape({ url: target.url('/echo-headers'), mode: 'standard', headers: { 'X-Drover-Test': 'yes' } });
    expect(r.title).toBe('yes|gzip, deflate, br');
    await expect(scraper.scrape({ url: target.url('/echo-headers'), mode: 'standard', headers: { Host: 'evil' } })).rejects.toMatchObject({ code: ScrapeErrorCodes.BAD_INPUT });
  });

  it('cancels when the caller aborts', async () => {
    const ac = new AbortController();
    const p = scraper.scrape({ url: target.url('/slow-headers'), mode: 'standard', timeoutMs: 10_000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: ScrapeErrorCodes.ABORTED });
  });
});

describe('Scraper.fetch', () => {
  it('returns the raw decoded body through the same guard and caps', async () => {
    const target = await TargetServer.start({
      '/data': (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"ok":true}')),
      '/to-ip': (_req, res, s) => res.writeHead(302, { location: `http://127.0.0.1:${s.port}/data` }).end(),
    });
    const scraper = createScraper({ config: scraperConfig({ allowHosts: [`localhost:${target.port}`] }) });
    try {
      const r = await scraper.fetch(target.url('/data'));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString('utf8'))).toEqual({ ok: true });
      await expect(scraper.fetch(target.url('/to-ip'))).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
    } finally {
      await scraper.close();
      await target.close();
    }
  });
});
