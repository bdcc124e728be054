import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemRef, WorkerList } from '../api-schemas.js';
import { backendFailure } from '../problem.js';

/** Live workers (those whose heartbeat has not expired). */
export const workerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { backend } = app.drover;
  app.get(
    '/workers',
    { schema: { summary: 'Live workers', tags: ['workers'], response: { 200: WorkerList, '4xx': ProblemRef, '5xx': ProblemRef } } },
    async () => ({ workers: await backend.workers().catch(backendFailure) }),
  );
};
