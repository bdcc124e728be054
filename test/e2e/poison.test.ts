import { type Backend, completeSubmit, createBackend, loadConfig } from '@drover/shared';
import { RedisServer, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceProcess, startFixtureWorker } from '../support/service-process.js';

/**
 * Poison tasks (issue 13): a task whose runs kill the worker process (SIGKILL, process.exit, not a
 * throw) is quarantined after DROVER_POISON_CRASHES crashes, visible as such in its record, while
 * the same workers, restarted as a supervisor (Kubernetes, compose) restarts them, keep
 * completing other tasks. On bullmq and rabbitmq; the memory backend runs in the one process a
 * crash ends, so there is no later run to quarantine.
 */
const POISON_CRASHES = 3;

describe.each(['bullmq', 'rabbitmq'] as const)('poison tasks on %s', (kind) => {
  let redis: RedisServer;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let backend: Backend;
  let env: Record<string, string>;
  const workers = new Set<ServiceProcess>();
  let deaths = 0;
  let stopping = false;

  /**
   * Starts a worker and, like a supervisor, a new one each time it dies, also when it dies before
   * it said it was ready (it may take the poison task in its first milliseconds).
   */
  const supervise = async (name: string): Promise<void> => {
    let w: ServiceProcess;
    try {
      w = await startFixtureWorker(name, env);
    } catch (err) {
      if (stopping) return;
      if (!/exited before it was ready/.test(String(err))) throw err;
      deaths++;
      return supervise(name);
    }
    workers.add(w);
    void w.exited.then(() => {
      workers.delete(w);
      if (stopping) return;
      deaths++;
      void supervise(name);
    });
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    env = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('poison'),
      DROVER_LOG_LEVEL: 'warn',
      DROVER_WORKER_CONCURRENCY: '4',
      // Short leases, so each crash is noticed within about a second.
      DROVER_TASK_LEASE_MS: '1000',
      DROVER_POISON_CRASHES: String(POISON_CRASHES),
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    await Promise.all([supervise('worker-a'), supervise('worker-b')]);
    // The test's own client, configured as the workers are (on rabbitmq the result TTL is an
    // argument of the dead-letter queue, which every declarer must match).
    backend = await createBackend(loadConfig(env));
  }, 120_000);

  afterAll(async () => {
    stopping = true;
    await Promise.all([...workers].map((w) => w.stop()));
    await backend?.close();
    await broker?.stop();
    await redis?.stop();
  });

  it(`quarantines a task that killed its worker ${POISON_CRASHES} times, while other tasks keep completing`, async () => {
    const { task: poison } = await backend.submit(completeSubmit({ type: 'poison', queue: 'general', tenant: 'acme', input: {}, maxAttempts: 10 }));
    // Other tenants' work keeps arriving while the poison task cycles through the workers.
    const others: string[] = [];
    const finishedWhileCycling = new Set<string>();
    let quarantinedAt = 0;
    for (let round = 0; quarantinedAt === 0; round++) {
      expect(round, 'the poison task is quarantined within 60 s').toBeLessThan(600);
      const { task } = await backend.submit(completeSubmit({ type: 'echo', queue: 'general', tenant: 'quiet', input: { round } }));
      others.push(task.id);
      await new Promise((r) => setTimeout(r, 100));
      for (const id of others.slice(-20)) if ((await backend.get(id))?.status === 'succeeded' && deaths > 0) finishedWhileCycling.add(id);
      if ((await backend.get(poison.id))?.status === 'failed') quarantinedAt = Date.now();
    }

    const record = await backend.get(poison.id);
    console.log(`${kind}: quarantined after ${deaths} worker crashes in ${((quarantinedAt - Date.parse(poison.createdAt)) / 1000).toFixed(1)} s; ${finishedWhileCycling.size} other tasks completed between the crashes`);
    expect(record).toMatchObject({ status: 'failed', attempt: POISON_CRASHES, error: { code: 'DROVER_ERR_TASK_QUARANTINED', retryable: false } });
    expect(deaths, 'each run took a worker down, and there was no run after the quarantine').toBe(POISON_CRASHES);
    // Work went on between the crashes, on the same (restarted) workers.
    expect(finishedWhileCycling.size).toBeGreaterThan(0);
    await waitUntil(async () => {
      const statuses = await Promise.all(others.map(async (id) => (await backend.get(id))?.status));
      return statuses.every((s) => s === 'succeeded');
    }, 'every other task succeeded', 30_000);

    // Quarantine is final: a while later the task has not run again and no worker died.
    await new Promise((r) => setTimeout(r, 2500));
    expect(deaths).toBe(POISON_CRASHES);
    expect((await backend.get(poison.id))?.attempt).toBe(POISON_CRASHES);
    const { task: after } = await backend.submit(completeSubmit({ type: 'echo', queue: 'general', tenant: 'quiet', input: 'after' }));
    await waitUntil(async () => (await backend.get(after.id))?.status === 'succeeded', 'a task after the quarantine', 15_000);
  }, 120_000);
});
