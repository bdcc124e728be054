import { Writable } from 'node:stream';
import { type Backend, MemoryBackend, Registry, createLogger, loadConfig } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

/**
 * Secrets never leave the server (issue 14): with API keys and a ZenRows key configured, every
 * route the OpenAPI document lists is driven with a good key, a wrong one, none, bad bodies and a
 * backend that is down, and every log line (at trace) and every answer is searched for them.
 */
const API_KEY = 'drv_secret_api_key_0123456789abcdef';
const ADMIN_KEY = 'drv_secret_admin_key_0123456789abcdef';
const ZENROWS_KEY = 'zr_secret_zenrows_key_0123456789';
const SECRETS = [API_KEY, ADMIN_KEY, ZENROWS_KEY];

describe('secrets in logs and answers', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  const start = async (wrap?: (b: MemoryBackend) => Backend) => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({
      DROVER_API_KEYS: `acme:${API_KEY},ops:${ADMIN_KEY}`,
      DROVER_ADMIN_TENANTS: 'ops',
      DROVER_ZENROWS_API_KEY: ZENROWS_KEY,
      DROVER_LOG_LEVEL: 'trace',
    });
    const backend = new MemoryBackend();
    const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level: 'trace', destination });
    const app = await buildApp({ config, backend: wrap ? wrap(backend) : backend, logger, registry: new Registry() });
    await app.ready();
    closers.push(async () => {
      await app.close();
      await backend.close();
    });
    return { app, lines };
  };

  it('appear in no log line and no answer, on every route and error path', async () => {
    const down = (b: MemoryBackend): Backend =>
      new Proxy(b, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== 'function' || ['close', 'onEvent', 'registerTaskTypes', 'taskTypes'].includes(String(prop))) return typeof v === 'function' ? v.bind(target) : v;
          return () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED' }));
        },
      });
    const answers: string[] = [];
    const allLines: string[] = [];
    for (const wrap of [undefined, down]) {
      const { app, lines } = await start(wrap);
      const task = wrap ? null : (await app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, payload: '{"type":"echo","input":{"n":1}}' })).json();
      const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
      const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path] as const));
      expect(routes.length).toBeGreaterThan(15);
      const auths = [`Bearer ${API_KEY}`, `Bearer ${ADMIN_KEY}`, `Bearer ${API_KEY}x`, `Basic ${API_KEY}`, undefined];
      const bodies = [undefined, '{}', '{"type":"echo"}', '{not json', `{"type":"${API_KEY}"}`.replace(API_KEY, 'nope'), '[]'];
      for (const [method, path] of routes) {
        const url = path.replace('{id}', task?.id ?? 'general.missing').replace('{name}', 'general');
        for (const authorization of auths) {
          for (const payload of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
            const res = await app.inject({
              method: method as 'GET',
              url: url.endsWith('/events') ? `${url}?children=false` : url,
              headers: { ...(authorization ? { authorization } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
              ...(payload ? { payload } : {}),
              // SSE streams do not end by themselves: a short read is enough to see what they send.
              ...(url.endsWith('/events') && !wrap ? { simulate: { end: true, split: false, error: false, close: true } } : {}),
            });
            answers.push(`${method} ${url} ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
            expect(res.statusCode, `${method} ${url}`).not.toBe(500);
          }
        }
      }
      allLines.push(...lines);
    }
    expect(answers.length).toBeGreaterThan(200);
    expect(allLines.length).toBeGreaterThan(100);
    for (const secret of SECRETS) {
      expect(answers.filter((a) => a.includes(secret)), `answers holding ${secret.slice(0, 12)}…`).toEqual([]);
      expect(allLines.filter((l) => l.includes(secret)), `log lines holding ${secret.slice(0, 12)}…`).toEqual([]);
    }
    // Nor internal addresses from the backend's errors (those are for the server's log).
    expect(answers.filter((a) => a.includes('10.0.0.5'))).toEqual([]);
    expect(allLines.some((l) => l.includes('10.0.0.5'))).toBe(true);
  }, 120_000);
});
