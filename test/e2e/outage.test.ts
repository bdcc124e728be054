import { randomBytes } from 'node:crypto';
import { RedisServer, freePort, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { ServiceProcess, startFixtureWorker, waitReady } from '../support/service-process.js';

const RUN_MS = 2500;
const OUTAGE_MS = 4000;

/**
 * A Redis outage under an orchestrator and a worker process (issue 14): Redis (AOF everysec) is
 * SIGKILLed while 4 tasks run and restarted 4 s later. /readyz reports it; every submission during
 * it fails in under 1 s with 503 DROVER_ERR_BACKEND_UNAVAILABLE and Retry-After, none hangs; the
 * tasks that finished during the outage keep their outcomes (recorded once Redis is back); both
 * processes reconnect by themselves, and a submission after it runs.
 */
describe.each(['bullmq', 'rabbitmq'] as const)('a Redis outage on %s', (kind) => {
  let redis: RedisServer;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let orchestrator: ServiceProcess;
  let worker: ServiceProcess;
  let port: number;
  let env: Record<string, string>;
  const key = `outage-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    redis = await RedisServer.start({ aof: true });
    port = await freePort();
    env = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('outage'),
      DROVER_API_KEYS: `acme:${key}`,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_DRAIN_DELAY_MS: '0',
      DROVER_WORKER_CONCURRENCY: '4',
      DROVER_WORKER_PORT: '0',
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', { ...env, DROVER_PORT: String(port) });
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    worker = await startFixtureWorker('worker', env);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([orchestrator?.stop(), worker?.stop()]);
    await broker?.stop();
    await redis?.stop();
  });

  it('answers 503 with Retry-After in under 1 s during it, and loses no outcome of the tasks that ran through it', async () => {
    const api = new ApiClient(`http://127.0.0.1:${port}`, key);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await api.request('POST', '/v1/tasks', { type: 'sleep', input: { ms: RUN_MS }, maxAttempts: 1 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push((res.body as { id: string }).id);
    }
    await waitUntil(async () => {
      const states = await Promise.all(ids.map(async (id) => ((await api.request('GET', `/v1/tasks/${id}`)).body as { status: string }).status));
      return states.every((s) => s === 'running');
    }, 'the 4 tasks to run');

    await redis.kill();
    const downAt = Date.now();
    const readyDown = await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.status === 503 ? Date.now() - downAt : null;
    }, '/readyz to report the outage');

    // Submissions during the outage, spread over it (the tasks finish meanwhile).
    const latencies: number[] = [];
    while (Date.now() - downAt < OUTAGE_MS - 500) {
      const started = performance.now();
      const res = await api.request('POST', '/v1/tasks', { type: 'echo', input: { during: true } });
      latencies.push(Math.round(performance.now() - started));
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body).toMatchObject({ code: 'DROVER_ERR_BACKEND_UNAVAILABLE' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + OUTAGE_MS - Date.now())));

    await redis.launch();
    const upAt = Date.now();
    const readyUp = await waitUntil(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? Date.now() - upAt : null), '/readyz to recover', 30_000);

    // Each task ran once, through the outage, and its outcome was kept.
    const done = await waitUntil(
      async () => {
        const records = await Promise.all(ids.map(async (id) => (await api.request('GET', `/v1/tasks/${id}`)).body as { status: string; attempt: number; output: unknown }));
        return records.every((r) => r.status === 'succeeded') ? records : null;
      },
      'the 4 tasks to succeed',
      60_000,
      200,
    );
    const recoveredAt = Date.now() - upAt;
    for (const r of done) expect(r).toMatchObject({ status: 'succeeded', attempt: 1 });

    // Both processes reconnected: a new task runs.
    const after = await api.request('POST', '/v1/tasks?wait=20000', { type: 'echo', input: { after: true } });
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expect(after.body).toMatchObject({ status: 'succeeded', output: { after: true } });

    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `${kind}: Redis down ${OUTAGE_MS} ms; /readyz 503 after ${readyDown} ms; ${latencies.length} submissions during it: 503 in ${sorted[0]}..${sorted[sorted.length - 1]} ms (median ${sorted[Math.floor(sorted.length / 2)]}); /readyz 200 ${readyUp} ms after Redis was back; the 4 tasks that finished during the outage recorded succeeded (attempt 1) ${recoveredAt} ms after`,
    );
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(sorted[sorted.length - 1]).toBeLessThan(1000);
  }, 120_000);
});
