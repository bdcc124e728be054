import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '@drover/orchestrator';
import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DASHBOARD_DIR } from '../../packages/orchestrator/src/routes/ui.js';
import { DASHBOARD_DIST } from './dashboard-build.js';

const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
const silent = createLogger({ service: 't', instance: 't', region: 'local', level: 'silent' });
const config = loadConfig({ DROVER_API_KEYS: 'a:ui-serving-key-0123456789', DROVER_LOG_LEVEL: 'silent' });

/** How /ui serves a build (a small one made here, so this suite needs no vite build). */
describe('the dashboard route /ui', () => {
  let app: FastifyInstance;
  let backend: MemoryBackend;
  let dist: string;

  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), 'drover-ui-dist-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><div id="app"></div><script type="module" src="/ui/assets/index-AbCd12_x.js"></script>');
    await writeFile(join(dist, 'assets', 'index-AbCd12_x.js'), 'console.log(1);\n');
    await writeFile(join(dist, 'assets', 'index-Zz9-Yy8w.css'), 'body{}\n');
    await writeFile(join(dist, 'notes.txt'), 'not hashed\n');
    backend = new MemoryBackend();
    app = await buildApp({ config, backend, logger: silent, dashboardDir: dist });
  });

  afterAll(async () => {
    await app?.close();
    await backend?.close();
    await rm(dist, { recursive: true, force: true });
  });

  it('serves the build of packages/dashboard by default', () => {
    expect(DEFAULT_DASHBOARD_DIR).toBe(DASHBOARD_DIST);
  });

  it('redirects /ui to /ui/ and serves index.html there without a key, under its own CSP, revalidated', async () => {
    const bare = await app.inject({ method: 'GET', url: '/ui' });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/ui/');
    expect((await app.inject({ method: 'GET', url: '/ui?x=1' })).headers.location).toBe('/ui/?x=1');

    const page = await app.inject({ method: 'GET', url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="app">');
    expect(page.headers['content-security-policy']).toBe(UI_CSP);
    expect(page.headers['cache-control']).toBe('no-cache');
    // The API's other security headers stay.
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('caches the hashed assets for a year and revalidates the rest', async () => {
    for (const file of ['assets/index-AbCd12_x.js', 'assets/index-Zz9-Yy8w.css']) {
      const res = await app.inject({ method: 'GET', url: `/ui/${file}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-security-policy']).toBe(UI_CSP);
    }
    expect((await app.inject({ method: 'GET', url: '/ui/notes.txt' })).headers['cache-control']).toBe('no-cache');
  });

  it('leaves the API as it was: its CSP allows nothing and /v1 still wants a key', async () => {
    const api = await app.inject({ method: 'GET', url: '/v1/queues' });
    expect(api.statusCode).toBe(401);
    expect(api.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
    expect(Object.keys(doc.paths)).toContain('/v1/queues');
  });

  it('answers a file the build lacks with a problem 404, and refuses to climb out of the build', async () => {
    const missing = await app.inject({ method: 'GET', url: '/ui/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.json().code).toBe('DROVER_ERR_ROUTE_NOT_FOUND');
    for (const url of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/assets/..%2f..%2fpackage.json']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body, url).not.toContain('"workspaces"');
    }
  });

  it('says how to build the dashboard when there is no build (503, no stack trace)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'drover-ui-'));
    const bare = await buildApp({ config, backend, logger: silent, dashboardDir: join(empty, 'dist') });
    try {
      const res = await bare.inject({ method: 'GET', url: '/ui/' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('npm run build');
      expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
      expect((await bare.inject({ method: 'GET', url: '/ui/assets/x.js' })).statusCode).toBe(503);
      expect((await bare.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // A build made while the server runs is served without a restart.
      await mkdir(join(empty, 'dist'));
      await writeFile(join(empty, 'dist', 'index.html'), '<!doctype html><p>built</p>');
      const later = await bare.inject({ method: 'GET', url: '/ui/' });
      expect(later.statusCode).toBe(200);
      expect(later.body).toContain('built');
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
