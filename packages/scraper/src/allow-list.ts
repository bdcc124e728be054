import ipaddr from 'ipaddr.js';
import { inCidrs } from './address-class.js';

/**
 * Deployment exceptions to the SSRF rules (DROVER_SCRAPER_ALLOW_HOSTS). An entry is one of
 * - `name` — that host name on any port, whatever it resolves to;
 * - `name:port` / `[v6]:port` / `1.2.3.4:port` — that host on that port only;
 * - `cidr` (`10.0.0.0/8`, `fd00::/8`) — any address in the range, on the allowed ports.
 * Names match exactly (case-insensitive), so allowing `localhost:8080` does not allow
 * `127.0.0.1:8080`, nor `localhost:9090`: tests use that to let a first hop through and
 * watch a redirect to the raw address be refused.
 */
export class AllowList {
  private readonly names = new Map<string, Set<number> | 'any'>();
  private readonly cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      if (entry.includes('/')) {
        this.cidrs.push(ipaddr.parseCIDR(entry));
        continue;
      }
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
      if (m) {
        const host = stripBrackets(m[1]!);
        const prev = this.names.get(host);
        if (prev === 'any') continue;
        const set = prev ?? new Set<number>();
        set.add(Number(m[2]));
        this.names.set(host, set);
      } else {
        this.names.set(stripBrackets(entry), 'any');
      }
    }
  }

  /** True when this host (as written in the URL) is allow-listed on this port. */
  allowsHost(host: string, port: number): boolean {
    const ports = this.names.get(stripBrackets(host.toLowerCase()));
    return ports === 'any' || ports?.has(port) === true;
  }

  /** True when a resolved/literal address falls in an allow-listed CIDR. */
  allowsAddress(ip: string): boolean {
    return this.cidrs.length > 0 && inCidrs(stripBrackets(ip), this.cidrs);
  }

  static parseErrors(entries: readonly string[]): string[] {
    const bad: string[] = [];
    for (const e of entries) {
      if (e.includes('/')) {
        try {
          ipaddr.parseCIDR(e.trim());
        } catch {
          bad.push(e);
        }
      }
    }
    return bad;
  }
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
