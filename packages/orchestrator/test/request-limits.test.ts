import { type Backend, Registry, createBackend, createLogger, loadConfig } from '@drover/shared';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jsonDepth } from '../src/json-depth.js';
import { buildApp } from '../src/index.js';
import { type Fixture, KEY_A, KEY_B, authA, authAdmin, expectProblem, jsonA, startApp } from './app-fixture.js';

/** `{"type":"echo","input":` + n `[` + n `]` + `}`: what issue 11 sent (n = 5000, about 10 KB). */
const nested = (n: number) => `{"type":"echo","input":${'['.repeat(n)}${']'.repeat(n)}}`;

describe('JSON nesting depth (DROVER_JSON_MAX_DEPTH)', () => {
  let f: Fixture;
  afterEach(async () => {
    await f?.close();
  });
  const post = (url: string, payload: string, headers: Record<string, string> = jsonA) => f.app.inject({ method: 'POST', url, headers, payload });

  it('counts levels on the text, ignoring brackets inside strings', () => {
    expect(jsonDepth('{}', 64)).toBe(1);
    expect(jsonDepth('{"a":[1,{"b":[]}]}', 64)).toBe(4);
    expect(jsonDepth('{"a":"[[[[[[\\"[[[["}', 64)).toBe(1);
    expect(jsonDepth('1', 64)).toBe(0);
    // Stops as soon as the limit is passed.
    expect(jsonDepth('['.repeat(10_000), 64)).toBe(65);
  });

  it('refuses a body nested deeper than the limit with 400 DROVER_ERR_JSON_TOO_DEEP, on every JSON route', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', nested(5000)), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    expect(p.detail).toContain('DROVER_JSON_MAX_DEPTH');
    expectProblem(await post('/v1/tasks?wait=1000', nested(64)), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    expectProblem(await post('/v1/tasks/batch', `{"tasks":[${nested(100)}]}`), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    expectProblem(await post('/v1/tasks/general.x/cancel', nested(100)), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    expectProblem(await post('/v1/queues/general/pause', nested(100), { ...authAdmin, 'content-type': 'application/json' }), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    // At the limit it is an ordinary task: the body is level 1, so the input may nest 63 levels.
    const ok = await post('/v1/tasks', nested(63));
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('follows DROVER_JSON_MAX_DEPTH', async () => {
    f = await startApp({ env: { DROVER_JSON_MAX_DEPTH: '1000' } });
    expect((await post('/v1/tasks', nested(900))).statusCode).toBe(201);
    expectProblem(await post('/v1/tasks', nested(1000)), 400, 'DROVER_ERR_JSON_TOO_DEEP');
    expect(() => loadConfig({ DROVER_JSON_MAX_DEPTH: '5000' })).toThrow(/DROVER_JSON_MAX_DEPTH/);
  });
});

describe('charset of JSON bodies', () => {
  let f: Fixture;
  afterEach(async () => {
    await f?.close();
  });

  it('answers 415 for a charset other than UTF-8, and accepts UTF-8 however it is spelled', async () => {
    f = await startApp();
    const post = (contentType: string) =>
      f.app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...authA, 'content-type': contentType }, payload: '{"type":"echo","input":"é"}' });
    for (const bad of ['application/json; charset=utf-16', 'application/json; charset=ISO-8859-1', 'application/json;charset="utf-32"']) {
      const p = expectProblem(await post(bad), 415, 'DROVER_ERR_UNSUPPORTED_MEDIA_TYPE');
      expect(p.detail).toContain('UTF-8');
    }
    for (const good of ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json; charset=utf8']) {
      const res = await post(good);
      expect(res.statusCode, good).toBe(201);
      expect(res.json().input).toBe('é');
    }
  });
});

describe('numeric query parameters', () => {
  let f: Fixture;
  afterEach(async () => {
    await f?.close();
  });

  it('take plain non-negative integers only, and wait at most DROVER_WAIT_MAX_MS', async () => {
    f = await startApp({ env: { DROVER_WAIT_MAX_MS: '300' } });
    const created = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: '{"type":"echo","input":1}' });
    const id = created.json().id as string;
    const get = (query: string) => f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?${query}`, headers: authA });
    for (const bad of ['wait=Infinity', 'wait=1e20', 'wait=0x10', 'wait=NaN', 'wait=-1', 'wait=1.5', 'wait=+5', 'wait=%205', 'wait=05', 'wait=', 'wait=1&wait=2', 'wait=9999999999999999']) {
      const p = expectProblem(await get(bad), 400, 'DROVER_ERR_VALIDATION');
      expect(p.errors?.[0]?.path, bad).toBe('/wait');
    }
    const over = expectProblem(await get('wait=301'), 400, 'DROVER_ERR_VALIDATION');
    expect(over.detail).toContain('DROVER_WAIT_MAX_MS');
    expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks?wait=1e3', headers: jsonA, payload: '{"type":"echo"}' }), 400, 'DROVER_ERR_VALIDATION');
    expect((await get('wait=0')).statusCode).toBe(200);
    expect((await get('wait=300')).statusCode).toBe(200);
    for (const bad of ['limit=1e2', 'limit=Infinity', 'limit=0x10', 'limit=10.0']) {
      expectProblem(await f.app.inject({ method: 'GET', url: `/v1/tasks?${bad}`, headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    }
    expect((await f.app.inject({ method: 'GET', url: '/v1/tasks?limit=10', headers: authA })).statusCode).toBe(200);
  });
});

/**
 * Issue 11: beside one tenant's too-deep or malformed submissions, another tenant's concurrent
 * submissions all succeed. On bullmq, where single submits share Redis round trips (the submit
 * batcher), over a real port.
 */
describe('one tenant’s bad submissions never fail another’s (bullmq, real port)', () => {
  let app: FastifyInstance;
  let backend: Backend;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({
      DROVER_REDIS_URL: testRedisUrl(),
      DROVER_PREFIX: uniqueName('limits'),
      DROVER_API_KEYS: `a:${KEY_A},b:${KEY_B}`,
      DROVER_LOG_LEVEL: 'silent',
    });
    backend = await createBackend(config);
    const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level: 'silent' });
    app = await buildApp({ config, backend, logger, registry: new Registry() });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await backend?.close();
  });

  it('50 good submissions of tenant a succeed beside 50 too-deep or malformed ones of tenant b', async () => {
    for (let round = 0; round < 3; round++) {
      const send = (key: string, body: string, contentType = 'application/json') =>
        fetch(`${url}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
      const bad = Array.from({ length: 50 }, (_, i) =>
        send(KEY_B, i % 3 === 0 ? nested(5000) : i % 3 === 1 ? '{"type":"echo","input":' : nested(65), i % 5 === 0 ? 'application/json; charset=utf-16' : undefined),
      );
      const good = Array.from({ length: 50 }, (_, i) => send(KEY_A, JSON.stringify({ type: 'echo', input: { round, i } })));
      const [goodRes, badRes] = await Promise.all([Promise.all(good), Promise.all(bad)]);
      expect(goodRes.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);
      const badStatuses = new Set(badRes.map((r) => r.status));
      expect([...badStatuses].every((s) => s === 400 || s === 415), [...badStatuses].join(',')).toBe(true);
      const bodies = await Promise.all(badRes.map((r) => r.json() as Promise<{ code: string }>));
      expect(new Set(bodies.map((b) => b.code))).toEqual(new Set(['DROVER_ERR_JSON_TOO_DEEP', 'DROVER_ERR_BAD_REQUEST', 'DROVER_ERR_UNSUPPORTED_MEDIA_TYPE']));
      const stored = await Promise.all(goodRes.map(async (r) => backend.get(((await r.json()) as { id: string }).id)));
      expect(stored.every((t) => t?.tenant === 'a')).toBe(true);
    }
  });
});
