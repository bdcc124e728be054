import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { classifyAddress } from './address-class.js';
import { stripBrackets } from './allow-list.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';
import { ssrfRefused, type UrlPolicy } from './target-url.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Resolves a host name to every address it has; tests pass one that answers 10.0.0.1. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface SsrfGuardOptions {
  policy: UrlPolicy;
  lookup?: LookupFn;
  connectTimeoutMs: number;
}

/**
 * An undici connector that decides at connect time, on the address actually dialled: it
 * resolves the name itself, refuses if any answer is non-public (so a name with one public and
 * one private record cannot be raced), dials the vetted IP, and checks the socket's remote
 * address once connected. Redirects and DNS rebinding therefore cannot slip past it, because
 * every new connection — whichever hop or retry opened it — goes through here.
 */
export function ssrfGuardConnector(options: SsrfGuardOptions): buildConnector.connector {
  const base = buildConnector({ timeout: options.connectTimeoutMs });
  if (!options.policy.guard) return base;
  const lookup = options.lookup ?? systemLookup;
  return (connectOptions, callback) => {
    const host = stripBrackets(connectOptions.hostname);
    const port = Number(connectOptions.port) || (connectOptions.protocol === 'https:' ? 443 : 80);
    vetDestination(host, port, options.policy, lookup).then(
      (address) => {
        base({ ...connectOptions, hostname: address }, (err, socket) => {
          if (err || !socket) return callback(err ?? new Error('connect failed'), null);
          // An allow-listed name is dialled by name; anything else was vetted as an IP, and the
          // socket must have reached exactly that address.
          if (isIP(address) !== 0) {
            const remote = socket.remoteAddress;
            if (!remote || classifyAddress(remote).address !== classifyAddress(address).address) {
              socket.destroy();
              return callback(ssrfRefused(host, remote ?? 'unknown', remote ? classifyAddress(remote).range : 'invalid'), null);
            }
          }
          callback(null, socket);
        });
      },
      (err: unknown) => callback(err as Error, null),
    );
  };
}

/** Returns the address to dial for host:port, or throws the refusal. Exported for the guard tests. */
export async function vetDestination(host: string, port: number, policy: UrlPolicy, lookup: LookupFn): Promise<string> {
  if (policy.allowList.allowsHost(host, port)) return host;
  if (!policy.allowPorts.includes(port)) {
    throw new ScrapeError(ScrapeErrorCodes.PORT_REFUSED, `Port ${port} is not allowed; allowed ports are ${policy.allowPorts.join(', ')} (DROVER_SCRAPER_ALLOW_PORTS).`, {
      details: { host, port },
    });
  }
  if (isIP(host) !== 0) {
    const cls = classifyAddress(host);
    if (!cls.public && !policy.allowList.allowsAddress(cls.address)) throw ssrfRefused(host, cls.address, cls.range);
    return cls.address;
  }
  let answers: ResolvedAddress[];
  try {
    answers = await lookup(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScrapeError(ScrapeErrorCodes.DNS, `Could not resolve ${host} (${code ?? 'error'}).`, {
      retryable: code === 'EAI_AGAIN',
      details: { host, dnsCode: code },
      cause: err,
    });
  }
  if (answers.length === 0) throw new ScrapeError(ScrapeErrorCodes.DNS, `${host} has no addresses.`, { details: { host } });
  for (const a of answers) {
    const cls = classifyAddress(a.address);
    if (!cls.public && !policy.allowList.allowsAddress(cls.address)) throw ssrfRefused(host, cls.address, cls.range);
  }
  return answers[0]!.address;
}
