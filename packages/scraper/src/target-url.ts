import { isIP } from 'node:net';
import { classifyAddress } from './address-class.js';
import type { AllowList } from './allow-list.js';
import { stripBrackets } from './allow-list.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';

export interface UrlPolicy {
  guard: boolean;
  allowList: AllowList;
  allowPorts: readonly number[];
}

/**
 * Parses and vets a URL before any socket is opened: scheme, credentials, port and IP-literal
 * hosts. The WHATWG parser already rewrites decimal/octal/hex IPv4 hosts (`http://2130706433/`)
 * to dotted quads, so the literal check sees the real address. The connect-time guard repeats
 * the address check on what DNS returns; this early pass just gives clearer errors sooner.
 */
export function checkTargetUrl(input: string, policy: UrlPolicy, base?: URL): URL {
  let url: URL;
  try {
    url = base ? new URL(input, base) : new URL(input);
  } catch {
    throw new ScrapeError(ScrapeErrorCodes.BAD_URL, `Not a valid absolute URL: ${JSON.stringify(input.slice(0, 200))}. Pass an http:// or https:// URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScrapeError(ScrapeErrorCodes.BAD_URL, `Scheme ${url.protocol} is not allowed; only http and https can be scraped.`, {
      details: { scheme: url.protocol },
    });
  }
  if (url.username || url.password) {
    throw new ScrapeError(ScrapeErrorCodes.BAD_URL, 'URLs with embedded credentials are refused; pass an Authorization header instead.');
  }
  if (url.hostname === '') throw new ScrapeError(ScrapeErrorCodes.BAD_URL, 'The URL has no host.');
  url.hash = '';
  if (!policy.guard) return url;
  const port = portOf(url);
  const host = stripBrackets(url.hostname);
  if (policy.allowList.allowsHost(host, port)) return url;
  if (isIP(host) !== 0) {
    const cls = classifyAddress(host);
    if (!cls.public && !policy.allowList.allowsAddress(cls.address)) throw ssrfRefused(host, cls.address, cls.range);
  }
  if (!policy.allowPorts.includes(port)) {
    throw new ScrapeError(ScrapeErrorCodes.PORT_REFUSED, `Port ${port} is not allowed; allowed ports are ${policy.allowPorts.join(', ')} (DROVER_SCRAPER_ALLOW_PORTS).`, {
      details: { host, port },
    });
  }
  return url;
}

export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

export function ssrfRefused(host: string, address: string, range: string): ScrapeError {
  return new ScrapeError(
    ScrapeErrorCodes.SSRF_REFUSED,
    `Refused to connect to ${host} (${address}, ${range} address): only public unicast addresses can be scraped. Add the host or a CIDR to DROVER_SCRAPER_ALLOW_HOSTS if this is intended.`,
    { details: { host, address, range } },
  );
}
