import { ScrapeInput } from '@drover/shared';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';

// The schema the orchestrator validates submissions with; the scraper relies on its shape.
describe('ScrapeInput schema', () => {
  it('accepts a full input with ZenRows options and headers', () => {
    const input = {
      url: 'https://example.com/',
      mode: 'auto',
      format: 'markdown',
      selector: 'main',
      timeoutMs: 30_000,
      headers: { 'Accept-Language': 'en' },
      zenrows: { js_render: true, wait: 1000, wait_for: '.x', block_resources: 'image,font', premium_proxy: true, proxy_country: 'us', session_id: 7, original_status: true, css_extractor: { title: 'h1' } },
    };
    expect(Value.Check(ScrapeInput, input)).toBe(true);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ url: 'https://example.com/', apikey: 'x' }, 'unknown top-level field (an API key cannot come from input)'],
    [{ url: 'https://example.com/', zenrows: { apikey: 'x' } }, 'unknown ZenRows option'],
    [{ url: 'https://example.com/', zenrows: { wait: 60_000, js_render: true } }, 'wait over 30 s'],
    [{ url: 'https://example.com/', zenrows: { proxy_country: 'usa', premium_proxy: true } }, 'three-letter country'],
    [{ url: 'https://example.com/', headers: { 'bad header': 'x' } }, 'header name with a space'],
    [{ url: 'https://example.com/', mode: 'fast' }, 'unknown mode'],
    [{ url: 'https://example.com/', zenrows: { css_extractor: { 'a b': 'h1' } } }, 'css_extractor name with a space'],
  ])('rejects %j (%s)', (input, _why) => {
    expect(Value.Check(ScrapeInput, input)).toBe(false);
  });
});
