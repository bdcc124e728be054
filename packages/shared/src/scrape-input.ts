import { type Static, Type } from '@sinclair/typebox';

/** ZenRows request options; validated again (combinations) by the scraper before a request is spent. */
export const ScrapeZenrowsOptions = Type.Object(
  {
    js_render: Type.Optional(Type.Boolean()),
    wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 30_000, description: 'ms to wait after load; needs js_render' })),
    wait_for: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'CSS selector to wait for; needs js_render' })),
    block_resources: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'comma list: image,media,font,stylesheet,...; needs js_render' })),
    premium_proxy: Type.Optional(Type.Boolean()),
    proxy_country: Type.Optional(Type.String({ pattern: '^[a-zA-Z]{2}$', description: 'ISO 3166-1 alpha-2; needs premium_proxy' })),
    mode: Type.Optional(Type.Literal('auto', { description: 'ZenRows adaptive stealth mode; excludes js_render/premium_proxy' })),
    response_type: Type.Optional(Type.Union([Type.Literal('markdown'), Type.Literal('plaintext')])),
    css_extractor: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), Type.String({ minLength: 1, maxLength: 1024 }), {
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 50,
        description: 'name → CSS selector; ZenRows answers JSON',
      }),
    ),
    session_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 99_999 })),
    original_status: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ScrapeZenrowsOptions = Static<typeof ScrapeZenrowsOptions>;

/**
 * Input of the built-in `scrape` task. It lives here, not in packages/scraper, so the
 * orchestrator can validate scrape submissions without depending on the scraper.
 */
export const ScrapeInput = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 8192, description: 'http(s) URL to fetch' }),
    mode: Type.Optional(Type.Union([Type.Literal('standard'), Type.Literal('zenrows'), Type.Literal('auto')], { default: 'auto' })),
    format: Type.Optional(Type.Union([Type.Literal('html'), Type.Literal('text'), Type.Literal('markdown')], { default: 'text' })),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    zenrows: Type.Optional(ScrapeZenrowsOptions),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,128}$' }), Type.String({ maxLength: 4096 }), {
        // Without this, names that miss the pattern would pass unchecked.
        additionalProperties: false,
        maxProperties: 50,
        description: 'extra request headers (sent as ZenRows custom_headers in zenrows mode); hop-by-hop and Host are refused',
      }),
    ),
  },
  { additionalProperties: false, $id: 'ScrapeInput' },
);
export type ScrapeInput = Static<typeof ScrapeInput>;
