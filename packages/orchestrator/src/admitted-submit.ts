import { type SubmitRequest, type SubmitResult, SpanKind, contextOf, inSpan, taskSpanAttributes, traceparentOf } from '@drover/shared';
import type { DroverContext } from './drover-context.js';
import { backendFailure } from './problem.js';

/** The caller's W3C trace context (the request's traceparent and tracestate headers), if any. */
export type TraceHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * One task in, the way every path that submits one takes it (POST /v1/tasks, dead-letter retries,
 * schedule ticks): the queue's backpressure and the tenant's rate first, then the backend, then the
 * admission count and the metric for a task that was created (not an idempotent replay).
 */
export async function submitAdmitted(ctx: DroverContext, req: SubmitRequest, headers?: TraceHeaders): Promise<SubmitResult> {
  if (ctx.tracer) return tracedSubmit(ctx, [req], headers, () => admit(ctx, req));
  return admit(ctx, req);
}

async function admit(ctx: DroverContext, req: SubmitRequest): Promise<SubmitResult> {
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

/**
 * Runs a submission inside a `drover.submit` span (a child of the caller's trace when the request
 * carried one) and stamps the span's traceparent on every task, so the worker's run continues the
 * trace. Only called when tracing is on.
 */
export async function tracedSubmit<T extends SubmitResult | SubmitResult[]>(ctx: DroverContext, reqs: SubmitRequest[], headers: TraceHeaders | undefined, submit: () => Promise<T>): Promise<T> {
  const parent = contextOf(single(headers?.['traceparent']), single(headers?.['tracestate']));
  const first = reqs[0]!;
  const span = ctx.tracer!.startSpan(
    reqs.length === 1 ? `drover.submit ${first.type}` : 'drover.submit batch',
    { kind: SpanKind.PRODUCER, attributes: reqs.length === 1 ? taskSpanAttributes(first) : { 'drover.tenant': first.tenant, 'drover.batch.size': reqs.length } },
    parent,
  );
  const traceparent = traceparentOf(span);
  for (const r of reqs) r.traceparent = traceparent;
  return inSpan(span, parent, async () => {
    const result = await submit();
    if (!Array.isArray(result)) {
      span.setAttribute('drover.task.id', result.task.id);
      span.setAttribute('drover.task.created', result.created);
    }
    return result;
  });
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
