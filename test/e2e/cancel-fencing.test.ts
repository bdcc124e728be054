import { type Backend, completeSubmit, createBackend, loadConfig } from '@drover/shared';
import { RedisServer, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceProcess, startFixtureWorker } from '../support/service-process.js';

/**
 * Cancellation that reaches everywhere, and attempts fenced by their run (issue 13), with worker
 * processes of their own:
 * - a cancel sent from another process aborts the running handler's signal within 1 s;
 * - a zombie attempt (its worker frozen with SIGSTOP past its lease, the task taken over by
 *   another worker, then thawed) cannot write its result over the later attempt's.
 */
const LEASE_MS = 1000;

describe.each(['bullmq', 'rabbitmq'] as const)('cancel and fencing across processes on %s', (kind) => {
  let redis: RedisServer;
  let probe: Redis;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let backend: Backend;
  let env: Record<string, string>;
  const workers: ServiceProcess[] = [];
  const probeKey = uniqueName('probe');

  const startWorker = async (name: string) => {
    const w = await startFixtureWorker(name, env);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    probe = new Redis(redis.url);
    const prefix = uniqueName('fence');
    env = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: prefix,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_WORKER_CONCURRENCY: '2',
      DROVER_TASK_LEASE_MS: String(LEASE_MS),
      DROVER_TEST_PROBE_KEY: probeKey,
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    await startWorker('worker-a');
    await startWorker('worker-b');
    // The test's own client, configured as the workers are.
    backend = await createBackend(loadConfig(env));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.signal('SIGCONT');
    await Promise.all(workers.map((w) => w.stop()));
    await backend?.close();
    probe?.disconnect();
    await broker?.stop();
    await redis?.stop();
  });

  it('a cancel from another process aborts the running handler within 1 s', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { task } = await backend.submit(completeSubmit({ type: 'hold', queue: 'general', tenant: 'acme', input: {}, timeoutMs: 60_000 }));
      // The handler itself is running (not only the record), so the abort is what ends it.
      await waitUntil(() => probe.get(`${probeKey}:running:${task.id}`), 'the handler to run', 15_000);
      const sentAt = Date.now();
      await backend.cancel(task.id);
      const abortedAt = Number(
        await waitUntil(() => probe.get(`${probeKey}:aborted:${task.id}`), 'the handler to see the abort', 5000).catch(async (err: Error) => {
          throw new Error(`${err.message}; the task: ${JSON.stringify(await backend.get(task.id))}; keys: ${(await probe.keys(`${probeKey}*`)).join(' ')}\n${workers.map((w) => w.tail(10)).join('\n')}`);
        }),
      );
      latencies.push(abortedAt - sentAt);
      await waitUntil(async () => (await backend.get(task.id))?.status === 'canceled', 'the task to end canceled', 5000);
    }
    latencies.sort((a, b) => a - b);
    console.log(`${kind}: cancel to abort in another process, 5 tries: ${latencies.join(', ')} ms`);
    expect(latencies[latencies.length - 1]).toBeLessThan(1000);
  }, 60_000);

  it("fences off a zombie attempt: thawed after its task was taken over, it cannot write over the later attempt's result", async () => {
    const { task } = await backend.submit(completeSubmit({ type: 'slow', queue: 'general', tenant: 'acme', input: { ms: 2500, laterMs: 6000 }, timeoutMs: 60_000, maxAttempts: 3 }));
    const first = await waitUntil(() => probe.lindex(`${probeKey}:starts:${task.id}`, 0), 'the first attempt to start', 15_000);
    const zombie = workers.find((w) => first.endsWith(`:${w.pid}`))!;
    expect(zombie, `attempt 1 ran in one of our workers (${first})`).toBeDefined();
    zombie.signal('SIGSTOP');
    // The lease runs out; the other worker takes the task over as attempt 2.
    const second = await waitUntil(() => probe.lindex(`${probeKey}:starts:${task.id}`, 1), 'the takeover', 15_000);
    expect(second.startsWith('2:')).toBe(true);
    expect(second.endsWith(`:${zombie.pid}`)).toBe(false);
    // Attempt 2 runs 6 s, so it is still running when the thawed zombie (slow to wake on a loaded
    // machine) ends. Thaw the zombie while attempt 2 runs: its timer is long past due, so it ends at once and
    // tries to record {attempt: 1} as the result.
    zombie.signal('SIGCONT');
    await waitUntil(() => probe.lrange(`${probeKey}:ends:${task.id}`, 0, -1).then((e) => e.some((x) => x.startsWith('1:'))), 'the zombie to finish its run', 10_000);
    const during = await backend.get(task.id);
    expect(during?.status, 'the zombie did not finish the task').toBe('running');
    // Nor its progress: the record keeps what the running attempt reported (nothing yet).
    expect(during?.progress ?? null).toBeNull();
    const done = await waitUntil(async () => {
      const r = await backend.get(task.id);
      return r && r.status !== 'running' && r.status !== 'queued' ? r : null;
    }, 'the task to finish', 15_000);
    const ends = await probe.lrange(`${probeKey}:ends:${task.id}`, 0, -1);
    console.log(`${kind}: zombie fenced: attempts ended ${ends.join(', ')}; recorded result ${JSON.stringify(done.output)}, progress ${JSON.stringify(done.progress)}`);
    expect(done).toMatchObject({ status: 'succeeded', output: { attempt: 2 } });
    expect(done.output).not.toMatchObject({ pid: zombie.pid });
  }, 60_000);
});
