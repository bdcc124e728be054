import { configError, type EnvReader } from './env-reader.js';

/** Scraper settings (owned by packages/scraper's needs; read here so loadConfig stays the one reader). */
export interface ScraperConfig {
  /** SSRF guard; on unless DROVER_SCRAPER_SSRF_GUARD=false (only for closed test networks). */
  ssrfGuard: boolean;
  /** Hosts (`name`, `name:port`) and CIDRs (`10.1.0.0/16`) exempt from the SSRF address and port rules. */
  allowHosts: string[];
  /** Destination ports allowed for hosts that are not allow-listed. */
  allowPorts: number[];
  zenrowsApiKey: string | undefined;
  /** Base URL of the ZenRows API; tests point it at a local fake. */
  zenrowsUrl: string;
  zenrowsConcurrency: number;
  /** How long a ZenRows slot lease lives without renewal, so a crashed worker's slot comes back. */
  zenrowsLeaseMs: number;
  zenrowsTimeoutMs: number;
  zenrowsMaxRetries: number;
  /** Requests per domain per rate window (default: per minute). */
  perDomainPerMinute: number;
  /** Requests across all domains per rate window; 0 turns the global limit off. */
  globalPerMinute: number;
  /** Length of the rate window in ms; a minute unless shortened (tests, bursty sites). */
  rateWindowMs: number;
  maxResponseSize: number;
  maxRedirects: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Whole-scrape budget when the task gives no timeoutMs. */
  timeoutMs: number;
  /** How long auto mode remembers the mode that worked for a domain. */
  modeTtlMs: number;
  contentTypes: string[];
  userAgent: string;
}

export const DEFAULT_SCRAPER_CONTENT_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain', 'application/xml', 'text/xml', 'application/json'];

export function readScraperConfig(r: EnvReader): ScraperConfig {
  return {
    ssrfGuard: r.bool('DROVER_SCRAPER_SSRF_GUARD', true),
    allowHosts: r.list('DROVER_SCRAPER_ALLOW_HOSTS', []),
    allowPorts: ports(r, 'DROVER_SCRAPER_ALLOW_PORTS', [80, 443]),
    zenrowsApiKey: r.string('DROVER_ZENROWS_API_KEY'),
    zenrowsUrl: r.url('DROVER_ZENROWS_URL', ['http', 'https']) ?? 'https://api.zenrows.com/v1/',
    zenrowsConcurrency: r.int('DROVER_ZENROWS_CONCURRENCY', 5, { min: 1, max: 10_000 }),
    zenrowsLeaseMs: r.int('DROVER_ZENROWS_LEASE_MS', 30_000, { min: 1000, max: 3_600_000 }),
    zenrowsTimeoutMs: r.int('DROVER_ZENROWS_TIMEOUT_MS', 180_000, { min: 1000, max: 600_000 }),
    zenrowsMaxRetries: r.int('DROVER_ZENROWS_MAX_RETRIES', 3, { min: 0, max: 20 }),
    perDomainPerMinute: r.int('DROVER_SCRAPER_DOMAIN_RATE_PER_MIN', 60, { min: 1, max: 100_000_000 }),
    globalPerMinute: r.int('DROVER_SCRAPER_GLOBAL_RATE_PER_MIN', 0, { min: 0, max: 100_000_000 }),
    rateWindowMs: r.int('DROVER_SCRAPER_RATE_WINDOW_MS', 60_000, { min: 100, max: 3_600_000 }),
    maxResponseSize: r.int('DROVER_SCRAPER_MAX_RESPONSE_BYTES', 10_485_760, { min: 1024, max: 1_073_741_824 }),
    maxRedirects: r.int('DROVER_SCRAPER_MAX_REDIRECTS', 5, { min: 0, max: 20 }),
    connectTimeoutMs: r.int('DROVER_SCRAPER_CONNECT_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    headersTimeoutMs: r.int('DROVER_SCRAPER_HEADERS_TIMEOUT_MS', 15_000, { min: 100, max: 300_000 }),
    bodyTimeoutMs: r.int('DROVER_SCRAPER_BODY_TIMEOUT_MS', 30_000, { min: 100, max: 300_000 }),
    timeoutMs: r.int('DROVER_SCRAPER_TIMEOUT_MS', 60_000, { min: 100, max: 600_000 }),
    modeTtlMs: r.int('DROVER_SCRAPER_MODE_TTL_MS', 21_600_000, { min: 1000, max: 2_592_000_000 }),
    contentTypes: r.list('DROVER_SCRAPER_CONTENT_TYPES', DEFAULT_SCRAPER_CONTENT_TYPES).map((t) => t.toLowerCase()),
    userAgent: r.string('DROVER_SCRAPER_USER_AGENT', 'DroverScraper/0.1 (+https://github.com/drover)'),
  };
}

function ports(r: EnvReader, name: string, fallback: number[]): number[] {
  const raw = r.list(name, fallback.map(String));
  return raw.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw configError(name, raw.join(','), 'a comma-separated list of ports from 1 to 65535');
    return Number(p);
  });
}
