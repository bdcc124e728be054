import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { scalingQuery } from '@drover/shared';
import { PrometheusServer, freePort, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { dashboardQueries, readDashboard } from '../support/grafana-dashboard.js';
import { adapterQuery, kedaQuery } from '../support/rendered-queries.js';
import { ServiceProcess, waitReady } from '../support/service-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * A real Prometheus on loopback scrapes a running orchestrator and two workers (their own
 * processes, bullmq on Redis) and evaluates Drover's recording rules: the scaling query returns
 * the backlog as tasks are submitted and drained, and the per-worker rule divides it by the
 * workers serving the queue.
 */
describe('the scaling signal, live through Prometheus', () => {
  let prometheus: PrometheusServer;
  let orchestrator: ServiceProcess;
  const workers: ServiceProcess[] = [];
  let api: ApiClient;

  beforeAll(async () => {
    const key = `obs-${randomBytes(12).toString('hex')}`;
    const port = await freePort();
    const env = {
      DROVER_REDIS_URL: testRedisUrl(),
      DROVER_PREFIX: uniqueName('signal'),
      DROVER_API_KEYS: `obs:${key}`,
      DROVER_ADMIN_TENANTS: 'obs',
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_METRICS_CACHE_MS: '200',
      DROVER_HEARTBEAT_MS: '500',
      DROVER_WORKER_QUEUES: 'general',
      DROVER_WORKER_CONCURRENCY: '2',
      DROVER_WORKER_HOST: '127.0.0.1',
    };
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', env);
    const workerPorts = [await freePort(), await freePort()];
    for (const [i, p] of workerPorts.entries()) {
      workers.push(ServiceProcess.start(`worker-${i}`, 'packages/worker/src/main.ts', { ...env, DROVER_WORKER_PORT: String(p), DROVER_INSTANCE: `w${i}` }));
    }
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    for (const [i, p] of workerPorts.entries()) await waitReady(`http://127.0.0.1:${p}/readyz`, workers[i]!);
    api = new ApiClient(`http://127.0.0.1:${port}`, key);
    prometheus = await PrometheusServer.start({
      scrapeIntervalSeconds: 1,
      ruleFiles: [resolve(ROOT, 'deploy/prometheus/drover-rules.yml'), resolve(ROOT, 'deploy/prometheus/drover-alerts.yml')],
      jobs: [
        { job: 'drover-orchestrator', targets: [`127.0.0.1:${port}`] },
        { job: 'drover-worker', targets: workerPorts.map((p) => `127.0.0.1:${p}`) },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await orchestrator?.stop();
  });

  const settlesAt = (query: string, value: number, what: string) =>
    waitUntil(async () => (await prometheus.queryScalar(query)) === value, `${what}: ${query} = ${value}`, 20_000, 250);

  it('returns the backlog and the backlog per worker as tasks are submitted and drained', async () => {
    await settlesAt(scalingQuery('general'), 0, 'an empty queue');
    await settlesAt('max by (queue) (drover_queue_workers{queue="general"})', 2, 'two workers');
    // Each worker target is scraped on its own schedule: wait until both have been.
    await settlesAt('sum(drover_worker_capacity)', 4, 'two workers of 2 slots, both scraped');

    // Hold a known backlog: pause, submit 12, and 3 delayed ones that must not count.
    expect((await api.request('POST', '/v1/queues/general/pause')).status).toBe(200);
    const tasks = Array.from({ length: 12 }, () => ({ type: 'sleep', input: { ms: 300 } }));
    expect((await api.request('POST', '/v1/tasks/batch', { tasks })).status).toBe(201);
    expect((await api.request('POST', '/v1/tasks/batch', { tasks: [1, 2, 3].map(() => ({ type: 'sleep', input: { ms: 1 }, delayMs: 600_000 })) })).status).toBe(201);
    await settlesAt(scalingQuery('general'), 12, 'a backlog of 12');
    // The exact queries the Kubernetes autoscalers run, as the rendered manifests carry them.
    const keda = kedaQuery('general');
    const adapter = adapterQuery('general');
    expect(keda).toBe(scalingQuery('general'));
    expect(await prometheus.query(keda)).toEqual([{ labels: { queue: 'general' }, value: 12 }]);
    expect(await prometheus.query(adapter)).toEqual([{ labels: { queue: 'general' }, value: 12 }]);
    await settlesAt('queue:drover_backlog_per_worker:ratio{queue="general"}', 6, 'the recording rule: 12 tasks / 2 workers');
    expect(await prometheus.query(scalingQuery('general'))).toEqual([{ labels: { queue: 'general' }, value: 12 }]);
    expect(await prometheus.queryScalar('max by (queue) (drover_queue_oldest_age_seconds{queue="general"})')).toBeGreaterThan(0);

    // Drain: the running ones count until they finish, then the signal falls to 0.
    expect((await api.request('POST', '/v1/queues/general/resume')).status).toBe(200);
    await settlesAt(scalingQuery('general'), 0, 'a drained queue');
    expect(await prometheus.query(adapterQuery('general'))).toEqual([{ labels: { queue: 'general' }, value: 0 }]);
    await settlesAt('queue:drover_backlog_per_worker:ratio{queue="general"}', 0, 'no backlog per worker');
    expect(await prometheus.queryScalar('max by (queue) (drover_queue_depth{queue="general",state="succeeded"})')).toBe(12);
    expect(await prometheus.queryScalar('max by (queue) (drover_queue_depth{queue="general",state="delayed"})')).toBe(3);

    // The provisioned Grafana dashboard's queries return data from this live stack (the scraper's
    // panels excepted: no scrape ran). A rate() over the workers' counters needs two scrapes of
    // each worker after its tasks finished, which a loaded machine may not have made yet: ask
    // again until every query answers, or 20 s have passed.
    const emptyQueries = async (): Promise<string[]> => {
      const empty: string[] = [];
      for (const { title, expr } of dashboardQueries(readDashboard(), 'general')) {
        if (expr.includes('drover_scraper_')) continue;
        if ((await prometheus.query(expr)).length === 0) empty.push(`${title}: ${expr}`);
      }
      return empty;
    };
    let empty = await emptyQueries();
    for (const deadline = Date.now() + 20_000; empty.length > 0 && Date.now() < deadline; empty = await emptyQueries()) await new Promise((r) => setTimeout(r, 500));
    expect(empty).toEqual([]);
  }, 90_000);
});
