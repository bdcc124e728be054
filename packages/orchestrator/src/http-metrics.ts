import { metricOnce } from '@drover/shared';
import { Histogram, type Registry } from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const NAME = 'drover_http_request_duration_seconds';

/** Created once per registry (embedded mode may build more than one app on a registry). */
function requestDuration(registry: Registry): Histogram<'method' | 'route' | 'status_code'> {
  return metricOnce(
    registry,
    NAME,
    () =>
      new Histogram({
        name: NAME,
        help: 'HTTP request duration by method, route pattern and status code',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
  );
}

/**
 * Records every answer's duration. The route label is the route pattern (or "unmatched"), never
 * the raw URL, so clients cannot blow up the label set.
 */
export const httpMetricsPlugin = fp<{ registry: Registry }>(
  async (app: FastifyInstance, { registry }) => {
    const histogram = requestDuration(registry);
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      histogram.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
        reply.elapsedTime / 1000,
      );
      done();
    });
  },
  { name: 'drover-http-metrics' },
);
