import { hash } from 'node:crypto';
import type { DroverConfig, RateWindowStore } from '@drover/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { problemError } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the API key belongs to (`default` when auth is off). */
    tenant: string;
    /** Listed in DROVER_ADMIN_TENANTS (every caller when auth is off). */
    admin: boolean;
  }
}

export const DEFAULT_TENANT = 'default';

/**
 * Bearer API keys. Only SHA-256 digests are held (config.http.apiKeys); the presented key is
 * hashed and looked up, so a key never sits in memory longer than the request that carried it.
 */
export class Authenticator {
  private tenants: Map<string, string>;
  private admins: ReadonlySet<string>;

  constructor(private readonly http: DroverConfig['http']) {
    this.tenants = new Map(http.apiKeys.map((k) => [k.sha256.toLowerCase(), k.tenant]));
    this.admins = new Set(http.adminTenants);
  }

  /** Swaps in new keys and admin tenants (SIGHUP: DROVER_API_KEYS_FILE re-read), at once for every request after. */
  replaceKeys(keys: DroverConfig['http']['apiKeys'], adminTenants: readonly string[]): void {
    this.tenants = new Map(keys.map((k) => [k.sha256.toLowerCase(), k.tenant]));
    this.admins = new Set(adminTenants);
  }

  get enabled(): boolean {
    return this.http.auth;
  }

  /** The tenant for an Authorization header value, or undefined when it names no known key. */
  tenantOf(authorization: string | undefined): string | undefined {
    return this.authenticate(authorization)?.tenant;
  }

  /** The tenant and the key's digest (what per-key limits count by), or undefined. */
  authenticate(authorization: string | undefined): { tenant: string; digest: string } | undefined {
    if (authorization === undefined || authorization.length > 1024) return undefined;
    // RFC 6750: the scheme is case-insensitive; one or more spaces before the token.
    const m = /^bearer +(\S+) *$/i.exec(authorization);
    if (!m) return undefined;
    const digest = hash('sha256', m[1]!, 'hex');
    const tenant = this.tenants.get(digest);
    return tenant === undefined ? undefined : { tenant, digest };
  }

  isAdmin(tenant: string): boolean {
    return !this.http.auth || this.admins.has(tenant);
  }
}

/**
 * Registered inside the /v1 scope (fastify-plugin so the hook applies to the routes beside it).
 * onRequest runs before the body is read, so an unauthenticated caller costs no parsing.
 */
export const authPlugin = fp<{ auth: Authenticator; rate?: { store: RateWindowStore; perMinute: number } }>(
  async (app: FastifyInstance, { auth, rate }) => {
    app.decorateRequest('tenant', DEFAULT_TENANT);
    // With auth off every caller is an admin: the decorated default says so, no hook needed.
    app.decorateRequest('admin', !auth.enabled);
    if (!auth.enabled) return;
    // A callback hook, not an async one: it runs on every request, and a promise per request costs.
    app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      const who = auth.authenticate(request.headers.authorization);
      const tenant = who?.tenant;
      if (who === undefined || tenant === undefined) {
        done(
          problemError(
            'UNAUTHENTICATED',
            request.headers.authorization === undefined
              ? 'Send an API key as "Authorization: Bearer <key>" (keys are configured in DROVER_API_KEYS).'
              : 'The API key is not valid; check the Authorization header against DROVER_API_KEYS.',
          ),
        );
        return;
      }
      request.tenant = tenant;
      request.admin = auth.isAdmin(tenant);
      if (!rate) return done();
      // Per-key rate (DROVER_API_RATE_PER_MINUTE), one budget across every replica.
      rate.store.take(`key:${who.digest}`, 1, rate.perMinute, 60_000).then(
        (d) => {
          if (d.allowed) return done();
          const seconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
          done(problemError('API_RATE_LIMITED', `This API key may make ${rate.perMinute} requests per minute (DROVER_API_RATE_PER_MINUTE); retry in ${seconds} s.`, undefined, { 'retry-after': String(seconds) }));
        },
        () => done(problemError('BACKEND_UNAVAILABLE', 'The rate limit could not be checked: the backend did not answer. Retry shortly.', undefined, { 'retry-after': '1' })),
      );
    });
  },
  { name: 'drover-auth' },
);
