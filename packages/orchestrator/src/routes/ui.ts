import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { ErrorCodes } from '@drover/shared';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../problem.js';

/**
 * The dashboard's policy in place of the API's (which allows nothing): its own scripts, styles
 * and API calls, nothing inline, no framing. The build inlines nothing (packages/dashboard/vite.config.ts).
 */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/** packages/dashboard/dist, from src/routes/ui.ts and from dist/routes/ui.js alike. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

/** Vite names these after their content hash, so a new build is a new URL. */
const HASHED_ASSET = /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drover dashboard not built</title></head>
<body><h1>The dashboard is not built</h1>
<p>This orchestrator serves the web dashboard from a build it cannot find. Run <code>npm run build</code>
(or <code>npx vite build</code> in packages/dashboard), then reload this page.</p>
<p>The HTTP API under <code>/v1</code> works without it.</p></body></html>
`;

/**
 * The web dashboard at /ui/ (and /ui → /ui/): static files with no data in them, so no API key;
 * the page calls /v1 with the key the user pastes. index.html is revalidated on every load and
 * the hashed assets are cached for a year. Without a build, /ui/ says how to make one (503).
 */
export const uiRoutes: FastifyPluginAsync<{ dir?: string | undefined }> = async (app, options) => {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const index = join(dir, 'index.html');
  // Checked per request until it appears, so a build made after start-up is served without a restart.
  let built = existsSync(index);

  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    reply.header('content-security-policy', UI_CSP);
    if (!built) built = existsSync(index);
    if (built) return done();
    reply.code(503).header('cache-control', 'no-store').header('retry-after', '60').type('text/html; charset=utf-8').send(NOT_BUILT);
  });

  // Not API routes: kept out of the OpenAPI document (@fastify/static hides its own).
  app.get('/ui', { schema: { hide: true } }, (request, reply) => {
    const q = request.url.indexOf('?');
    return reply.redirect(`/ui/${q < 0 ? '' : request.url.slice(q)}`, 301);
  });
  await app.register(
    async (ui) => {
      // A file the build lacks: the app's own handler would call it a wrong method of the wildcard route.
      ui.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?', 1)[0] ?? '';
        const e = ErrorCodes.ROUTE_NOT_FOUND;
        return sendProblem(reply, { type: `urn:drover:error:${e.code}`, title: e.title, status: 404, code: e.code, detail: `The dashboard has no file ${path}; open /ui/.`, instance: path });
      });
      await ui.register(fastifyStatic, {
        root: dir,
        prefix: '/',
        wildcard: true,
        index: ['index.html'],
        dotfiles: 'ignore',
        cacheControl: false,
        decorateReply: false,
        setHeaders: (res, path) => {
          res.setHeader('cache-control', HASHED_ASSET.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    },
    { prefix: '/ui' },
  );
};
