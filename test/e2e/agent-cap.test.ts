import { type Backend, completeSubmit, createBackend, loadConfig } from '@drover/shared';
import { RedisServer, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceProcess, startFixtureWorker } from '../support/service-process.js';

/**
 * DROVER_MAX_AGENTS (issue 13): tasks running across all queues and all worker processes never
 * exceed it. Three worker processes with 4 slots each (12) on two queues, a cap of 5: the running
 * agents are counted by the handlers themselves (in Redis, exactly, at every start) and sampled by
 * the test every few milliseconds. Then a worker is SIGKILLed with permits in hand: they come
 * back after the lease, and the cap is reached again by the two that are left.
 */
const MAX_AGENTS = 5;
const LEASE_MS = 1000;

describe.each(['bullmq', 'rabbitmq'] as const)('the cluster-wide agent cap on %s', (kind) => {
  let redis: RedisServer;
  let probe: Redis;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let backend: Backend;
  let env: Record<string, string>;
  const workers: ServiceProcess[] = [];
  const probeKey = uniqueName('agents');

  const startWorker = async (name: string) => {
    const w = await startFixtureWorker(name, env);
    workers.push(w);
    return w;
  };

  /** Samples the running agents every 5 ms until stopped; returns the most seen. */
  const sampler = () => {
    let max = 0;
    let on = true;
    const done = (async () => {
      while (on) {
        max = Math.max(max, await probe.zcount(probeKey, Date.now(), '+inf'));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return {
      async stop() {
        on = false;
        await done;
        return max;
      },
    };
  };

  const submitAgents = async (n: number, ms: number) => {
    const results = await backend.submitMany(
      Array.from({ length: n }, (_, i) => completeSubmit({ type: 'agent', queue: i % 2 === 0 ? 'general' : 'coding', tenant: 'acme', input: { ms }, maxAttempts: 5 })),
    );
    return results.map((r) => r.task.id);
  };
  const allSucceeded = (ids: string[], timeoutMs: number) =>
    waitUntil(async () => (await Promise.all(ids.map(async (id) => (await backend.get(id))?.status))).every((s) => s === 'succeeded'), `${ids.length} agents to succeed`, timeoutMs, 50);

  beforeAll(async () => {
    redis = await RedisServer.start();
    probe = new Redis(redis.url);
    const prefix = uniqueName('cap');
    env = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: prefix,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_QUEUES: 'general,coding',
      DROVER_WORKER_QUEUES: 'general,coding',
      DROVER_WORKER_CONCURRENCY: '4',
      DROVER_MAX_AGENTS: String(MAX_AGENTS),
      DROVER_TASK_LEASE_MS: String(LEASE_MS),
      DROVER_TEST_PROBE_KEY: probeKey,
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    for (const name of ['worker-a', 'worker-b', 'worker-c']) await startWorker(name);
    // The test's own client, configured as the workers are.
    backend = await createBackend(loadConfig(env));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await backend?.close();
    probe?.disconnect();
    await broker?.stop();
    await redis?.stop();
  });

  it(`never runs more than DROVER_MAX_AGENTS=${MAX_AGENTS} agents across 3 worker processes (12 slots) and 2 queues`, async () => {
    const sampling = sampler();
    const ids = await submitAgents(60, 150);
    await allSucceeded(ids, 60_000);
    const sampled = await sampling.stop();
    const exact = Number(await probe.get(`${probeKey}:max`));
    console.log(`${kind}: 60 agents on 3 workers x 4 slots, DROVER_MAX_AGENTS=${MAX_AGENTS}: most running at once ${exact} (counted at every start), ${sampled} (sampled every 5 ms)`);
    expect(exact).toBeLessThanOrEqual(MAX_AGENTS);
    expect(sampled).toBeLessThanOrEqual(MAX_AGENTS);
    // The cap was what held them back (12 slots were free to take more).
    expect(exact).toBe(MAX_AGENTS);
    // Every permit went back: none held once the work is done (lingering ones return in 200 ms).
    await waitUntil(async () => (await backend.agentPermits.used()) === 0, 'permits returned', 5000);
  }, 90_000);

  it("gives a SIGKILLed worker's permits back after the lease, and the cap holds throughout", async () => {
    await probe.del(`${probeKey}:max`);
    const first = await submitAgents(10, 2000);
    // Wait until the cap is full, then kill a worker that holds permits.
    await waitUntil(async () => (await backend.agentPermits.used()) === MAX_AGENTS, 'the cap to fill', 15_000);
    const victim = workers[0]!;
    victim.signal('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const sampling = sampler();
    const second = await submitAgents(20, 150);
    await allSucceeded([...first, ...second], 60_000);
    const sampled = await sampling.stop();
    const exact = Number(await probe.get(`${probeKey}:max`));
    console.log(`${kind}: after SIGKILL of a worker holding permits: all 30 agents done in ${((Date.now() - killedAt) / 1000).toFixed(1)} s, most running at once ${exact} (counted), ${sampled} (sampled)`);
    expect(exact).toBeLessThanOrEqual(MAX_AGENTS);
    expect(sampled).toBeLessThanOrEqual(MAX_AGENTS);
    // The two workers left (8 slots) reached the cap again: the dead worker's permits came back.
    await probe.del(`${probeKey}:max`);
    const third = await submitAgents(20, 150);
    await allSucceeded(third, 30_000);
    expect(Number(await probe.get(`${probeKey}:max`))).toBe(MAX_AGENTS);
    await waitUntil(async () => (await backend.agentPermits.used()) === 0, 'permits returned', 5000);
  }, 120_000);
});
