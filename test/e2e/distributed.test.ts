import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { RedisServer, freePort, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, inParallel } from '../support/api-client.js';
import { ServiceProcess, waitReady } from '../support/service-process.js';

/**
 * The whole spine across processes: a private Redis, one orchestrator and two workers, each its
 * own Node process started the way `npm run start:*` starts them.
 */
describe('distributed: orchestrator + 2 workers on BullMQ', () => {
  let redis: RedisServer;
  let orchestrator: ServiceProcess;
  const workers: ServiceProcess[] = [];
  let api: ApiClient;
  const key = `e2e-${randomBytes(12).toString('hex')}`;
  let env: Record<string, string>;
  let site: Server;
  let siteUrl = '';

  const startWorker = async (name: string, extra: Record<string, string> = {}) => {
    const port = await freePort();
    const w = ServiceProcess.start(name, 'packages/worker/src/main.ts', {
      ...env,
      DROVER_WORKER_PORT: String(port),
      DROVER_WORKER_HOST: '127.0.0.1',
      DROVER_INSTANCE: name,
      ...extra,
    });
    workers.push(w);
    await waitReady(`http://127.0.0.1:${port}/readyz`, w);
    return w;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    // A page for the scrape task; loopback must be allow-listed, as the SSRF guard refuses it by default.
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>Drover field notes</title></head><body><main><h1>Herding</h1><p>Agents move in fleets.</p><a href="/next">next</a></main></body></html>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    const sitePort = (site.address() as { port: number }).port;
    siteUrl = `http://127.0.0.1:${sitePort}/notes`;
    const port = await freePort();
    env = {
      DROVER_REDIS_URL: redis.url,
      DROVER_API_KEYS: `e2e:${key}`,
      DROVER_ADMIN_TENANTS: 'e2e',
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_WORKER_CONCURRENCY: '20',
      DROVER_HEARTBEAT_MS: '500',
      DROVER_SCRAPER_ALLOW_HOSTS: `127.0.0.1:${sitePort}`,
    };
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', env);
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    api = new ApiClient(`http://127.0.0.1:${port}`, key);
    await startWorker('worker-a');
    await startWorker('worker-b');
  }, 90_000);

  afterAll(async () => {
    await Promise.all([...workers, orchestrator].filter(Boolean).map((p) => p.stop()));
    await redis?.stop();
    site?.close();
  });

  /** Submits n tasks: half one by one (concurrently), half in batches of 100. */
  const submitAll = async (n: number, task: (i: number) => Record<string, unknown>): Promise<string[]> => {
    const singles = Array.from({ length: n / 2 }, (_, i) => i);
    const ids = await inParallel(singles, 50, async (i) => {
      const res = await api.request('POST', '/v1/tasks', task(i));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    });
    for (let start = n / 2; start < n; start += 100) {
      const res = await api.request('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 100 }, (_, k) => task(start + k)) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(...(res.body.tasks as Array<{ id: string }>).map((t) => t.id));
    }
    return ids;
  };

  const results = (ids: string[]) =>
    inParallel(ids, 50, async (id) => {
      const res = await api.request('GET', `/v1/tasks/${id}?wait=30000`);
      expect(res.status).toBe(200);
      return res.body as { status: string; input: unknown; output: unknown; error: unknown };
    });

  it('runs 1,000 tasks submitted over HTTP (single and batch) and returns every result', async () => {
    const ids = await submitAll(1000, (i) => ({ type: 'echo', input: { n: i, s: `task-${i}` } }));
    expect(new Set(ids).size).toBe(1000);
    const done = await results(ids);
    const wrong = done.filter((t, i) => t.status !== 'succeeded' || JSON.stringify(t.output) !== JSON.stringify({ n: i, s: `task-${i}` }));
    expect(wrong).toEqual([]);
    const live = await api.request('GET', '/v1/workers');
    expect(live.body.workers.map((w: { id: string }) => w.id.replace(/-\d+$/, '')).sort()).toEqual(['worker-a', 'worker-b']);
  }, 120_000);

  it('runs the built-in scrape task submitted over HTTP and returns the extracted page', async () => {
    const res = await api.request('POST', '/v1/tasks', { type: 'scrape', input: { url: siteUrl, mode: 'standard', format: 'text' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.queue).toBe('scrape');
    const done = await api.request('GET', `/v1/tasks/${res.body.id}?wait=30000`);
    expect(done.body.status, JSON.stringify(done.body.error)).toBe('succeeded');
    expect(done.body.output).toMatchObject({ status: 200, mode: 'standard', title: 'Drover field notes', finalUrl: siteUrl });
    expect(done.body.output.content).toContain('Agents move in fleets.');
    expect(done.body.output.links).toContain(new URL('/next', siteUrl).toString());

    const bad = await api.request('POST', '/v1/tasks', { type: 'scrape', input: { url: siteUrl, mode: 'turbo' } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('DROVER_ERR_INVALID_INPUT');

    // The guard holds for task input too: a loopback port that is not allow-listed is refused.
    const refused = await api.request('POST', '/v1/tasks', { type: 'scrape', input: { url: 'http://127.0.0.1:1/', mode: 'standard' } });
    const failed = await api.request('GET', `/v1/tasks/${refused.body.id}?wait=30000`);
    expect(failed.body.status).toBe('failed');
    expect(failed.body.error.code).toMatch(/^DROVER_ERR_SCRAPE_/);
  }, 60_000);

  it('loses nothing when a worker is SIGTERMed midway', async () => {
    // Tasks long enough that the stopped worker has some in flight; its grace is shorter than a
    // task, so those are interrupted and must be finished by the other worker.
    const victim = await startWorker('worker-c', { DROVER_SHUTDOWN_GRACE_MS: '20', DROVER_LOG_LEVEL: 'info' });
    const ids = await submitAll(1000, (i) => ({ type: 'sleep', input: { ms: 40 }, idempotencyKey: `sleep-${i}` }));
    await waitUntil(async () => {
      const q = await api.request('GET', '/v1/queues');
      const general = q.body.queues.find((x: { name: string }) => x.name === 'general');
      return general.succeeded >= 1300; // 1,000 echo tasks before + ~300 of these
    }, 'a third of the tasks to finish', 60_000);
    victim.signal('SIGTERM');
    expect(await victim.exited).toBe(0);
    // The stopped worker really had tasks in flight (so the check below covers interrupted ones).
    const drainLine = victim.tail(500).split('\n').find((l) => l.includes('"msg":"draining"'));
    expect(Number(JSON.parse(drainLine ?? '{}').running)).toBeGreaterThan(0);
    const done = await results(ids);
    const notOk = done.filter((t) => t.status !== 'succeeded');
    expect(notOk).toEqual([]);
    expect(done.every((t) => JSON.stringify(t.output) === JSON.stringify({ slept: 40 }))).toBe(true);
    await waitUntil(async () => {
      const live = await api.request('GET', '/v1/workers');
      return !live.body.workers.some((w: { id: string }) => w.id.startsWith('worker-c'));
    }, 'the stopped worker to leave /v1/workers');
  }, 180_000);
});
