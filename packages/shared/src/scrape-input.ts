import { type Static, Type } from '@sinclair/typebox';

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
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
  },
  { additionalProperties: false, $id: 'ScrapeInput' },
);
export type ScrapeInput = Static<typeof ScrapeInput>;
