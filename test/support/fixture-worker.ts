import { Type } from '@sinclair/typebox';
import { Registry, createBackend, createLogger, loadConfigOrExit, startTracing } from '@drover/shared';
import { builtinTasks, createWorker, defineTask, startScraper } from '@drover/worker';
import { Redis } from 'ioredis';

/**
 * A worker process for the e2e tests that need task types of their own, started like
 * `npm run start:worker` (configuration from the environment, the agent cap on):
 * - `poison`: every run takes its worker process down the way a real poison task does (a native
 *   crash's SIGKILL from the OOM killer, or a library calling process.exit), alternating.
 * - `agent`: runs `ms` milliseconds and records itself in a Redis sorted set of running agents
 *   (DROVER_TEST_PROBE_KEY), keeping the most ever seen at once in `<key>:max`. A running agent
 *   renews its member every 100 ms (score = expiry, 300 ms ahead), so one killed with its worker
 *   stops counting within 300 ms, well inside any lease the tests use.
 * - `hold`: marks `<probe key>:running:<task id>` when its handler starts, runs until its signal
 *   aborts, and writes the moment it saw the abort to `<probe key>:aborted:<task id>` (the
 *   cancel-latency test).
 * - `slow`: sleeps `ms` (first attempt) or `laterMs` (later ones), then reports progress and
 *   returns which attempt it was, from which process (the fencing test's zombie and its successor).
 * - `pair`: spawns a `scrape` child for each of its two `urls` and returns their statuses (the
 *   tracing test's parent with two children). The worker traces when OTEL_* asks it to.
 */
const PROBE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > max then redis.call('SET', KEYS[2], n) end
return n
`;

const config = loadConfigOrExit('fixture-worker', process.env, { sharedBackend: true });
const probeKey = process.env['DROVER_TEST_PROBE_KEY'] ?? `${config.prefix}:test:agents`;
const probe = new Redis(config.redisUrl!);
probe.defineCommand('probeStart', { numberOfKeys: 2, lua: PROBE });

const poison = defineTask({
  name: 'poison',
  queue: 'general',
  input: Type.Object({}),
  run: async (_input, ctx) => {
    await new Promise((r) => setTimeout(r, 100));
    process.stderr.write(`poison: run ${ctx.attempt} takes the worker down\n`);
    if (ctx.attempt % 2 === 1) process.kill(process.pid, 'SIGKILL');
    process.exit(137);
  },
});

const agent = defineTask({
  name: 'agent',
  queue: 'general',
  input: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: 60_000 }) }),
  run: async (input, ctx) => {
    const member = `${ctx.task.id}:${ctx.attempt}`;
    const now = Date.now();
    await (probe as unknown as { probeStart(...a: Array<string | number>): Promise<number> }).probeStart(probeKey, `${probeKey}:max`, member, now, now + 300);
    const renew = setInterval(() => void probe.zadd(probeKey, 'XX', Date.now() + 300, member), 100);
    try {
      await new Promise((r) => setTimeout(r, input.ms));
    } finally {
      clearInterval(renew);
      await probe.zrem(probeKey, member);
    }
    return { ran: input.ms };
  },
});

const hold = defineTask({
  name: 'hold',
  queue: 'general',
  input: Type.Object({}),
  run: async (_input, ctx) => {
    await probe.set(`${probeKey}:running:${ctx.task.id}`, String(Date.now()));
    if (!ctx.signal.aborted) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
    await probe.set(`${probeKey}:aborted:${ctx.task.id}`, String(Date.now()));
    throw ctx.signal.reason;
  },
});

const slow = defineTask({
  name: 'slow',
  queue: 'general',
  input: Type.Object({ ms: Type.Integer({ minimum: 0 }), laterMs: Type.Integer({ minimum: 0 }) }),
  run: async (input, ctx) => {
    await probe.rpush(`${probeKey}:starts:${ctx.task.id}`, `${ctx.attempt}:${process.pid}`);
    await new Promise((r) => setTimeout(r, ctx.attempt === 1 ? input.ms : input.laterMs));
    const me = { attempt: ctx.attempt, pid: process.pid };
    await ctx.progress(me).catch(() => undefined);
    await probe.rpush(`${probeKey}:ends:${ctx.task.id}`, `${ctx.attempt}:${process.pid}`);
    return me;
  },
});

const pair = defineTask({
  name: 'pair',
  queue: 'general',
  input: Type.Object({ urls: Type.Array(Type.String(), { minItems: 2, maxItems: 2 }) }),
  run: async (input, ctx) => {
    const pages = (await ctx.all(input.urls.map((url) => ctx.spawn('scrape', { url, mode: 'standard' })))) as Array<{ status: number }>;
    return { statuses: pages.map((p) => p.status) };
  },
});

const backend = await createBackend(config);
const logger = createLogger({ service: 'fixture-worker', instance: config.instance, region: config.region, level: config.logLevel });
const scraping = startScraper(config, logger, new Registry());
const tracing = await startTracing(config.telemetry, 'drover-fixture-worker');
const worker = createWorker({
  backend,
  ...(tracing ? { tracer: tracing.tracer } : {}),
  tasks: [...builtinTasks({ scraper: scraping.scraper }), poison, agent, hold, slow, pair],
  concurrency: config.worker.concurrency,
  queues: config.worker.queues,
  id: `${config.instance}-${process.pid}`,
  maxAgents: config.tasks.maxAgents,
  agentLeaseMs: config.tasks.leaseMs,
  ...(Object.keys(config.tasks.tenantMaxRunning).length > 0 ? { tenantMaxRunning: config.tasks.tenantMaxRunning } : {}),
});
await worker.start();
process.stdout.write('worker ready\n');
process.once('SIGTERM', () =>
  void worker
    .drain(2000)
    .then(() => Promise.all([backend.close(), scraping.close(), tracing?.shutdown()]))
    .then(() => process.exit(0)),
);
