import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemRef, TaskTypeList } from '../api-schemas.js';

/** The task types a submit accepts, with the JSON Schema their input is checked against. */
export const taskTypeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { catalog } = app.drover;
  app.get(
    '/task-types',
    {
      schema: {
        summary: 'Known task types (built-in and registered by workers) with their input schemas',
        tags: ['tasks'],
        response: { 200: TaskTypeList, '4xx': ProblemRef, '5xx': ProblemRef },
      },
    },
    async () => {
      // Rare and cheap: read the registry now so a worker that just started is listed.
      await catalog.refresh();
      const taskTypes = catalog
        .list()
        .map(({ info, builtin }) => ({ ...info, builtin }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { taskTypes };
    },
  );
};
