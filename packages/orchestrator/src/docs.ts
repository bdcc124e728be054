import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * OpenAPI 3.1 at /docs/json and Swagger UI at /docs, generated from the routes' own TypeBox
 * schemas. Registered before the routes (it collects them as they are added). 3.1 because
 * TypeBox literals are JSON Schema `const`, which 3.0 lacks.
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Drover task API',
          version: '1',
          description: 'Submit agent tasks, follow them, and operate queues. Errors are RFC 9457 application/problem+json with a stable code.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from DROVER_API_KEYS' } } },
        security: [{ bearer: [] }],
        tags: [
          { name: 'tasks', description: 'Submit, read, wait for, list and cancel tasks' },
          { name: 'queues', description: 'Queue depths, pause and resume' },
          { name: 'workers', description: 'Live workers' },
          { name: 'operations', description: 'Probes and metrics (no authentication)' },
        ],
      },
      // Shared schemas keep their $id as their component name (TaskRecord, Problem).
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    // Its own CSP (hashes of its inline scripts and styles) in place of the API's, which allows nothing.
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  },
  { name: 'drover-docs' },
);
