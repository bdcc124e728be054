import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type Fixture, KEY_A, KEY_B, startApp } from './app-fixture.js';

/**
 * Nothing a client sends may produce a 5xx: thousands of random requests (methods, paths,
 * queries, headers, bodies — many of them near-valid mutations of real ones) must each get a
 * < 500 answer, and every 4xx must be problem+json with a code. The PRNG is seeded; a failure
 * prints the seed and the request, so it reproduces with FUZZ_SEED=<seed>.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 3000);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(max: number): number {
    return Math.floor(this.rnd() * max);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  string(maxLen = 12): string {
    const alphabets = ['abcxyz', 'ABC019._-', ' /?#%&=+\\"\'', 'é✓日本🙂\u0000\u001f', '{}[]:,'];
    const chars = [...this.pick(alphabets)];
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)] ?? 'a';
    return s;
  }
  scalar(): unknown {
    return this.pick([
      () => null,
      () => this.chance(0.5),
      () => this.int(20) - 5,
      () => this.rnd() * 1e12 - 5e11,
      () => this.pick([Number.MAX_SAFE_INTEGER, -0, 1e308, 0.5, 2 ** 31, 2 ** 53 + 1]),
      () => this.string(),
      () => this.pick(['echo', 'sleep', 'scrape', 'general', 'queued', '__proto__', 'constructor', '']),
    ])();
  }
  value(depth = 0): unknown {
    if (depth > 3 || this.chance(0.5)) return this.scalar();
    if (this.chance(0.5)) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--) o[this.pick(['ms', 'url', 'type', 'input', 'fail', this.string(6)])] = this.value(depth + 1);
    return o;
  }
}

const VALID_ITEMS: Array<Record<string, unknown>> = [
  { type: 'echo', input: { hello: 'world' } },
  { type: 'sleep', input: { ms: 10 }, priority: 5, maxAttempts: 2 },
  { type: 'scrape', input: { url: 'https://example.com/', mode: 'standard', zenrows: { js_render: true } } },
  { type: 'echo', queue: 'coding', delayMs: 1000, backoffMs: 10, timeoutMs: 1000, idempotencyKey: 'k' },
];
const FIELDS = ['type', 'input', 'queue', 'priority', 'delayMs', 'maxAttempts', 'backoffMs', 'timeoutMs', 'idempotencyKey', 'parentId', 'extra'];

function mutate(g: Gen, item: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(item);
  for (let i = g.int(3); i >= 0; i--) {
    const field = g.pick(FIELDS);
    if (g.chance(0.3)) delete out[field];
    else out[field] = g.value();
  }
  if (g.chance(0.3) && out.input && typeof out.input === 'object') {
    (out.input as Record<string, unknown>)[g.pick(['ms', 'url', 'mode', 'zenrows', 'headers', g.string(5)])] = g.value();
  }
  return out;
}

describe('fuzz: client input never causes a 5xx', () => {
  let f: Fixture;
  const ids: string[] = [];

  beforeAll(async () => {
    f = await startApp({ env: { DROVER_BATCH_MAX: '20', DROVER_BODY_LIMIT_BYTES: '4096', DROVER_WAIT_MAX_MS: '5', DROVER_MAX_BACKLOG: '1500' } });
    await f.backend.consume('general', { concurrency: 4, handler: async (task) => task.input });
    // Real ids (of both tenants) for the paths to use.
    for (const [i, key] of [KEY_A, KEY_B, KEY_A, KEY_B].entries()) {
      const res = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: VALID_ITEMS[i]! });
      ids.push(res.json().id);
    }
  });
  afterAll(async () => {
    await f?.close();
  });

  it(`${ROUNDS} random requests (seed ${SEED})`, async () => {
    const g = new Gen(mulberry32(SEED));
    const failures: string[] = [];
    let accepted = 0;
    for (let round = 0; round < ROUNDS && failures.length < 5; round++) {
      const id = () => (ids.length > 0 && g.chance(0.6) ? g.pick(ids) : g.pick(['general.x', g.string(20), 'a'.repeat(129), '..', '%2e%2e', '%ZZ', '%E2%9C%93']));
      const path = g.pick([
        () => '/v1/tasks',
        () => '/v1/tasks/batch',
        () => `/v1/tasks/${id()}`,
        () => `/v1/tasks/${id()}/cancel`,
        () => '/v1/queues',
        () => `/v1/queues/${g.pick(['general', 'scrape', 'nope', g.string(8)])}/${g.pick(['pause', 'resume', 'drain'])}`,
        () => '/v1/workers',
        () => '/v1/task-types',
        () => g.pick(['/healthz', '/readyz', '/metrics', '/docs/json', '/', '/v1', '/v1/', '//v1//tasks', '/v1/tasks/', '/v2/tasks']),
        // light-my-request cannot even build a URL that starts with "/\\" (it reads as "//host").
        () => `/r/${g.string(30)}`,
      ])();
      const query = g.chance(0.4)
        ? `?${Array.from({ length: 1 + g.int(3) }, () => `${g.pick(['wait', 'limit', 'cursor', 'status', 'type', 'queue', g.string(4)])}=${encodeURIComponent(String(g.scalar()))}`).join('&')}`
        : g.chance(0.05)
          ? `?${g.string(10)}`
          : '';
      const method = g.pick(['GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) as 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
      const headers: Record<string, string> = {};
      const auth = g.int(10);
      if (auth < 7) headers.authorization = `Bearer ${g.pick([KEY_A, KEY_B, ADMIN_KEY])}`;
      else if (auth === 7) headers.authorization = g.pick(['Bearer', 'Bearer  ', `bearer ${KEY_A}`, `Basic ${KEY_A}`, `Bearer ${g.string(40)}`.replace(/[^\x20-\x7e]/g, 'x')]);
      if (g.chance(0.3)) headers['idempotency-key'] = g.pick(['k', 'order-1', 'x'.repeat(300), g.string(10).replace(/[^\x20-\x7e]/g, 'y')]);
      let payload: string | undefined;
      if (method !== 'GET' && method !== 'HEAD' && g.chance(0.85)) {
        const kind = g.int(10);
        const body =
          kind < 2
            ? g.pick(VALID_ITEMS)
            : kind < 4
            ? mutate(g, g.pick(VALID_ITEMS))
            : kind < 6
              ? { tasks: Array.from({ length: g.int(25) }, () => (g.chance(0.7) ? g.pick(VALID_ITEMS) : mutate(g, g.pick(VALID_ITEMS)))) }
              : kind < 8
                ? g.value()
                : undefined;
        payload =
          body !== undefined
            ? JSON.stringify(body)
            : g.pick(['', '{', '{"type":', 'null', '[]', '"str"', '{"type":"echo","input":' + '['.repeat(50) + ']'.repeat(50) + '}', 'x'.repeat(5000), '\u0000',
                // Deeper than DROVER_JSON_MAX_DEPTH (and, at 1800 levels, within the fuzz body limit).
                '{"type":"echo","input":' + '['.repeat(1800) + ']'.repeat(1800) + '}', `{"tasks":[{"type":"echo","input":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}]}`,
              ]);
        headers['content-type'] = g.chance(0.85)
          ? g.pick(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=utf-16', 'application/json; charset="UTF-8"'])
          : g.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json;;', '*/*', 'json']);
      }
      const req = { method, url: path + query, headers, ...(payload === undefined ? {} : { payload }) };
      let res: Awaited<ReturnType<typeof f.app.inject>>;
      try {
        res = await f.app.inject(req);
      } catch (err) {
        failures.push(`round ${round}: inject threw ${String(err)} for ${JSON.stringify(req).slice(0, 500)}`);
        continue;
      }
      const describeIt = () => `round ${round}: ${res.statusCode} ${res.body.slice(0, 300)} for ${JSON.stringify(req).slice(0, 500)}`;
      if (res.statusCode >= 500) {
        failures.push(describeIt());
        continue;
      }
      if (res.statusCode < 300) accepted++;
      if (res.statusCode === 201 && method === 'POST' && path === '/v1/tasks') ids.push(res.json().id);
      if (res.statusCode >= 400 && method !== 'HEAD') {
        const ok = /^application\/problem\+json/.test(String(res.headers['content-type']));
        const body = ok ? (res.json() as { code?: unknown; status?: unknown }) : {};
        if (!ok || typeof body.code !== 'string' || body.status !== res.statusCode) failures.push(`not a problem document: ${describeIt()}`);
      }
    }
    expect(failures, `seed ${SEED}`).toEqual([]);
    // The loop exercised the accept path too, not only refusals.
    expect(accepted).toBeGreaterThan(ROUNDS / 20);
  }, 120_000);
});
