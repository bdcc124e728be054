import { type Backend, MemoryBackend, type TaskRecord, completeSubmit } from '@drover/shared';
import { BullmqBackend } from '@drover/shared/bullmq';
import { RabbitmqBackend } from '@drover/shared/rabbitmq';
import { taskFinished, testBroker, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import { Type } from '@sinclair/typebox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
beforeAll(async () => {
  broker = await testBroker();
}, 60_000);
afterAll(async () => {
  await broker?.stop();
});
import { type Worker, createWorker, defineTask } from '../src/index.js';

/**
 * Caps that hold tasks back without a slot: a tenant's running tasks (DROVER_TENANT_MAX_RUNNING)
 * and per-key concurrency (concurrencyKey). Two workers, each on its own backend client, share the
 * caps: in one process on memory, through Redis on bullmq.
 */
describe.each(['memory', 'bullmq', 'rabbitmq'] as const)('held-back caps on %s', (kind) => {
  const workers: Worker[] = [];
  const backends: Backend[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.drain(0);
    for (const b of backends.splice(0)) await b.close();
  });

  const clients = (n: number): Backend[] => {
    if (kind === 'memory') {
      const b = new MemoryBackend();
      backends.push(b);
      return Array.from({ length: n }, () => b);
    }
    const prefix = uniqueName('held');
    return Array.from({ length: n }, () => {
      const b =
        kind === 'bullmq'
          ? new BullmqBackend({ redisUrl: testRedisUrl(), prefix, queues: ['general'], resultTtlSeconds: 3600 })
          : new RabbitmqBackend({ amqpUrl: broker!.url, redisUrl: testRedisUrl(), prefix, queues: ['general'], resultTtlSeconds: 3600 });
      backends.push(b);
      return b;
    });
  };

  /** A task that records how many of its tenant's and of its key's run at once. */
  const probe = () => {
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const enter = (k: string) => {
      const n = (running.get(k) ?? 0) + 1;
      running.set(k, n);
      peak.set(k, Math.max(peak.get(k) ?? 0, n));
    };
    const leave = (k: string) => running.set(k, (running.get(k) ?? 1) - 1);
    const task = defineTask({
      name: 'job',
      input: Type.Object({ repo: Type.String(), ms: Type.Integer() }),
      concurrencyKey: (input) => input.repo,
      run: async (input, ctx) => {
        const keys = [`tenant:${ctx.task.tenant}`, `repo:${input.repo}`];
        keys.forEach(enter);
        await new Promise((r) => setTimeout(r, input.ms));
        keys.forEach(leave);
        return { attempt: ctx.attempt };
      },
    });
    return { task, peak };
  };

  it("keeps a tenant's running tasks and a key's under their caps across workers, and others run meanwhile", async () => {
    const { task, peak } = probe();
    const [b1, b2] = clients(2);
    for (const b of [b1!, b2!]) {
      const w = createWorker({ backend: b, tasks: [task], concurrency: 4, queues: ['general'], heartbeatMs: 1000, tenantMaxRunning: { busy: 2 }, agentLeaseMs: 5000 });
      workers.push(w);
      await w.start();
    }
    const submit = (tenant: string, repo: string, ms: number) => b1!.submit(completeSubmit({ type: 'job', queue: 'general', tenant, input: { repo, ms }, timeoutMs: 30_000 }));
    const busy: TaskRecord[] = [];
    for (let i = 0; i < 10; i++) busy.push((await submit('busy', `repo-${i}`, 80)).task);
    const sameRepo: TaskRecord[] = [];
    for (let i = 0; i < 4; i++) sameRepo.push((await submit(`calm-${i}`, 'shared', 60)).task);
    const other = (await submit('quiet', 'elsewhere', 10)).task;

    // A held-back task gives its slot up: it shows as waiting, not running.
    await waitUntil(async () => (await Promise.all(busy.map((t) => b1!.get(t.id)))).some((r) => r?.status === 'waiting'), 'a busy task held back', 10_000);
    // The quiet tenant's task is not stuck behind them.
    expect((await taskFinished(b1!, other.id, 10_000)).status).toBe('succeeded');
    for (const t of [...busy, ...sameRepo]) expect((await taskFinished(b1!, t.id, 30_000)).status).toBe('succeeded');
    expect(peak.get('tenant:busy')).toBe(2);
    expect(peak.get('repo:shared')).toBe(1);
    // Every permit went back.
    await waitUntil(async () => (await b1!.permits('tenant:busy').used()) === 0, 'tenant permits returned', 5000);
  }, 60_000);
});
