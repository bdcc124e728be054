import { type QueueCounts, backlogOf } from '@drover/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemRef, QueueInfo, QueueList, QueueParams } from '../api-schemas.js';
import { backendFailure, problemError } from '../problem.js';

const ERRORS = { '4xx': ProblemRef, '5xx': ProblemRef };

/** Queue depths for everyone; pause and resume for admin tenants (DROVER_ADMIN_TENANTS). */
export const queueRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { backend, admission, config, queues } = app.drover;

  app.get(
    '/queues',
    { schema: { summary: 'Depth and state of every queue', tags: ['queues'], response: { 200: QueueList, ...ERRORS } } },
    async () => {
      const all = await Promise.all(
        config.queues.map(async (name) => {
          const counts = await backend.counts(name).catch(backendFailure);
          // Fresh figures: let backpressure use them too.
          admission.observe(name, counts);
          return queueInfo(name, counts);
        }),
      );
      return { queues: all };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/queues/:name/${action}`,
      {
        schema: {
          summary: action === 'pause' ? 'Pause a queue (workers stop taking its tasks; running ones finish)' : 'Resume a paused queue',
          description: 'Admin tenants only (DROVER_ADMIN_TENANTS).',
          tags: ['queues'],
          params: QueueParams,
          response: { 200: QueueInfo, ...ERRORS },
        },
      },
      async (request) => {
        if (!request.admin) {
          throw problemError(
            'FORBIDDEN',
            `Pausing and resuming queues is for admin tenants; tenant ${JSON.stringify(request.tenant)} is not listed in DROVER_ADMIN_TENANTS.`,
          );
        }
        const name = request.params.name;
        if (!queues.has(name)) {
          throw problemError('QUEUE_NOT_FOUND', `Queue ${JSON.stringify(name)} does not exist; queues: ${config.queues.join(', ')} (DROVER_QUEUES).`);
        }
        await (action === 'pause' ? backend.pause(name) : backend.resume(name)).catch(backendFailure);
        const counts = await backend.counts(name).catch(backendFailure);
        return queueInfo(name, counts);
      },
    );
  }
};

function queueInfo(name: string, c: QueueCounts): QueueInfo {
  return {
    name,
    queued: c.queued,
    delayed: c.delayed,
    waiting: c.waiting,
    running: c.running,
    succeeded: c.succeeded,
    failed: c.failed,
    canceled: c.canceled,
    paused: c.paused,
    backlog: backlogOf(c),
  };
}
