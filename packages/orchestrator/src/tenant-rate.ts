import type { RateWindowStore } from '@drover/shared';
import { backendFailure, problemError } from './problem.js';

const WINDOW_MS = 60_000;

/**
 * Per-tenant submission rates (DROVER_TENANT_SUBMIT_RATE), counted across every replica in the
 * backend's store: a minute's budget per tenant, in fixed windows. A submission past it answers
 * 429 with Retry-After (the seconds left in the window). Tenants with no rate (and no `*`) are
 * not counted at all, so the default costs nothing.
 */
export class TenantRate {
  constructor(
    private readonly store: RateWindowStore,
    private readonly rates: Readonly<Record<string, number>>,
  ) {}

  /** Takes `n` submissions from the tenant's budget, or throws the 429. Undefined (no await needed) when the tenant has no rate. */
  take(tenant: string, n: number): Promise<void> | undefined {
    const limit = this.rates[tenant] ?? this.rates['*'];
    if (limit === undefined) return undefined;
    return this.store
      .take(`submit:${tenant}`, n, limit, WINDOW_MS)
      .catch(backendFailure)
      .then((d) => {
        if (d.allowed) return;
        const seconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
        const detail =
          n > limit
            ? `${n} tasks in one request is more than tenant ${tenant}'s ${limit} per minute (DROVER_TENANT_SUBMIT_RATE); split the batch.`
            : `Tenant ${tenant} may submit ${limit} tasks per minute (DROVER_TENANT_SUBMIT_RATE) and has used them; retry in ${seconds} s.`;
        throw problemError('TENANT_RATE_LIMITED', detail, undefined, { 'retry-after': String(seconds) });
      });
  }
}
