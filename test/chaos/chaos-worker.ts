import { createBackend, loadConfigOrExit } from '@drover/shared';
import { builtinTasks, createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import { Redis } from 'ioredis';

/**
 * The chaos suite's worker process, started like `npm run start:worker` (configuration from the
 * environment). Its task types:
 * - `chaos-leaf`: runs `ms` milliseconds and returns the attempt that produced the result, so the
 *   suite can tell a result written by a fenced-off attempt (output.attempt below record.attempt);
 * - `chaos-parent`: spawns two leaves, suspends until both finish, returns their sum of `ms` and
 *   its own attempt.
 * While a task runs its id is in the Redis set `<DROVER_TEST_PROBE_KEY>:running:<pid>`, so the suite
 * knows which tasks a worker had in flight when it killed it; every start of a leaf's handler
 * appends `<worker pid>@<ms>` to `<DROVER_TEST_PROBE_KEY>:starts:<task id>`. The probe is best effort: Redis may
 * be down (the suite restarts it), and a task must not fail because of the probe.
 */
const config = loadConfigOrExit('chaos-worker', process.env, { sharedBackend: true });
const probeKey = process.env['DROVER_TEST_PROBE_KEY'] ?? `${config.prefix}:chaos`;
const running = `${probeKey}:running:${process.pid}`;
const probe = new Redis(config.redisUrl!, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
probe.on('error', () => undefined);

const leaf = defineTask({
  name: 'chaos-leaf',
  queue: 'general',
  input: Type.Object({ ms: Type.Integer({ minimum: 0 }), n: Type.Integer() }),
  run: async (input, ctx) => {
    await probe.multi().sadd(running, ctx.task.id).rpush(`${probeKey}:starts:${ctx.task.id}`, `${process.pid}@${Date.now()}`).exec().catch(() => undefined);
    try {
      await new Promise((r) => setTimeout(r, input.ms));
    } finally {
      await probe.srem(running, ctx.task.id).catch(() => undefined);
    }
    return { attempt: ctx.attempt, ms: input.ms };
  },
});

const parent = defineTask({
  name: 'chaos-parent',
  queue: 'general',
  input: Type.Object({ ms: Type.Integer({ minimum: 0 }), n: Type.Integer() }),
  run: async (input, ctx) => {
    const kids = [ctx.spawn('chaos-leaf', { ms: input.ms, n: input.n * 10 + 1 }), ctx.spawn('chaos-leaf', { ms: input.ms, n: input.n * 10 + 2 })];
    const results = (await ctx.all(kids)) as Array<{ ms: number }>;
    return { attempt: ctx.attempt, ms: results.reduce((a, r) => a + r.ms, 0) };
  },
});

const backend = await createBackend(config);
const worker = createWorker({
  backend,
  tasks: [...builtinTasks(), leaf, parent],
  concurrency: config.worker.concurrency,
  queues: config.worker.queues,
  id: `${config.instance}-${process.pid}`,
  maxAgents: config.tasks.maxAgents,
  agentLeaseMs: config.tasks.leaseMs,
});
await worker.start();
process.stdout.write('worker ready\n');
process.once('SIGTERM', () =>
  void worker
    .drain(config.worker.shutdownGraceMs)
    .then(() => backend.close())
    .then(() => process.exit(0)),
);
