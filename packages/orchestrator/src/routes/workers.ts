import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WorkerInfo } from '@drover/shared';
import { ProblemRef, WorkerList } from '../api-schemas.js';
import { backendFailure } from '../problem.js';

/**
 * Live workers (those whose heartbeat has not expired). Workers are shared by every tenant, so
 * where they run (id, hostname, pid) is for admin tenants (DROVER_ADMIN_TENANTS); the others see
 * the capacity: queues, task types, slots, busy slots, draining.
 */
export const workerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { backend } = app.drover;
  app.get(
    '/workers',
    { schema: { summary: 'Live workers', tags: ['workers'], response: { 200: WorkerList, '4xx': ProblemRef, '5xx': ProblemRef } } },
    async (request) => {
      const workers = await backend.workers().catch(backendFailure);
      return { workers: request.admin ? workers : workers.map(withoutPlace) };
    },
  );
};

function withoutPlace({ id: _id, hostname: _hostname, pid: _pid, ...capacity }: WorkerInfo): Omit<WorkerInfo, 'id' | 'hostname' | 'pid'> {
  return capacity;
}
