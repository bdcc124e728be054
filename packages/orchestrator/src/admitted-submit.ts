import type { SubmitRequest, SubmitResult } from '@drover/shared';
import type { DroverContext } from './drover-context.js';
import { backendFailure } from './problem.js';

/**
 * One task in, the way every path that submits one takes it (POST /v1/tasks, dead-letter retries,
 * schedule ticks): the queue's backpressure and the tenant's rate first, then the backend, then the
 * admission count and the metric for a task that was created (not an idempotent replay).
 */
export async function submitAdmitted(ctx: DroverContext, req: SubmitRequest): Promise<SubmitResult> {
  ctx.admission.check(req.queue);
  const limited = ctx.tenantRate.take(req.tenant, 1);
  if (limited) await limited; // no tick spent when the tenant has no rate (the default)
  const result = await ctx.backend.submit(req).catch(backendFailure);
  if (result.created) {
    ctx.admission.admitted(req.queue);
    ctx.taskMetrics.submitted.inc({ type: req.type, queue: req.queue });
  }
  return result;
}
