import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health, ProblemRef } from '../api-schemas.js';
import { problemError } from '../problem.js';

const PING_TIMEOUT_MS = 2000;

/**
 * Probes, without authentication. /healthz: the process answers (liveness). /readyz: the
 * backend answers and we are not draining (readiness) — a 503 takes this replica out of the
 * load balancer without restarting it.
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.drover;

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['operations'], security: [], response: { 200: Health } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { summary: 'Readiness', tags: ['operations'], security: [], response: { 200: Health, 503: ProblemRef } } },
    async () => {
      if (ctx.draining) throw problemError('SHUTTING_DOWN', 'This replica is shutting down; send requests to another one.');
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          ctx.backend.ping(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        app.log.warn({ err }, 'readiness: backend ping failed');
        throw problemError('BACKEND_UNAVAILABLE', `The ${ctx.backend.kind} backend does not answer; check DROVER_REDIS_URL / DROVER_AMQP_URL and the server.`);
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' };
    },
  );
};
