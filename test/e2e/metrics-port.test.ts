import { RedisServer, freePort, uniqueName } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, waitReady } from '../support/service-process.js';

/** DROVER_METRICS_PORT: /metrics on its own port, off the API's, with the probes on both. */
describe('the metrics port', () => {
  let redis: RedisServer;
  let orchestrator: ServiceProcess;
  let api = '';
  let ops = '';

  beforeAll(async () => {
    redis = await RedisServer.start();
    const [port, metricsPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${port}`;
    ops = `http://127.0.0.1:${metricsPort}`;
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', {
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('ops'),
      DROVER_API_KEYS: `acme:${'k'.repeat(24)}`,
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_METRICS_PORT: String(metricsPort),
      DROVER_LOG_LEVEL: 'warn',
    });
    await waitReady(`${api}/readyz`, orchestrator);
    await waitReady(`${ops}/readyz`, orchestrator);
  }, 60_000);

  afterAll(async () => {
    await orchestrator?.stop();
    await redis?.stop();
  });

  it('serves /metrics only on DROVER_METRICS_PORT, the probes on both, and the API only on DROVER_PORT', async () => {
    const metrics = await fetch(`${ops}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('drover_queue_backlog');
    expect(metrics.headers.get('x-content-type-options')).toBe('nosniff');
    const off = await fetch(`${api}/metrics`);
    expect(off.status).toBe(404);
    expect(await off.json()).toMatchObject({ code: 'DROVER_ERR_ROUTE_NOT_FOUND' });
    for (const base of [api, ops]) expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/v1/queues`, { headers: { authorization: `Bearer ${'k'.repeat(24)}` } })).status).toBe(404);
    expect((await fetch(`${api}/v1/queues`, { headers: { authorization: `Bearer ${'k'.repeat(24)}` } })).status).toBe(200);
  });
});
