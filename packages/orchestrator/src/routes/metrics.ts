import { setQueueMetrics } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ProblemRef } from '../api-schemas.js';
import { problemError } from '../problem.js';

/**
 * Prometheus text, without authentication: keep it on the cluster network, never expose it
 * publicly. Queue gauges are read from the backend (at most once per DROVER_METRICS_CACHE_MS), so
 * every replica exports the same figures (query them with max by (queue)).
 */
export const metricsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, queueMetrics, queueSignals, backend, config } = app.drover;
  const maxAgents = config.tasks.maxAgents;
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (do not expose publicly)', tags: ['operations'], security: [], response: { 200: Type.String({ description: 'Prometheus text format' }), 503: ProblemRef } } },
    async (_request, reply) => {
      try {
        const [signals, agentsUsed] = await Promise.all([queueSignals.read(), backend.agentPermits.used()]);
        setQueueMetrics(queueMetrics, signals, Date.now(), maxAgents);
        queueMetrics.agentsUsed.set(agentsUsed);
        queueMetrics.agentsLimit.set(maxAgents);
      } catch (err) {
        // Failing the scrape marks the gauges stale instead of exporting old depths as current.
        app.log.warn({ err }, 'metrics: could not read queue counts');
        throw problemError('BACKEND_UNAVAILABLE', 'Queue counts could not be read from the backend; the scrape is refused rather than reporting stale depths.');
      }
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
};
