/**
 * Fair dispatch between tenants: a noisy tenant submits 10,000 tasks, then a quiet tenant submits
 * 50, on one queue of the bullmq (default) or rabbitmq backend drained by createWorker(). Prints the quiet tenant's
 * p50/p99 wait (submit to start) against its wait on an empty queue, and the total throughput
 * against a run where one tenant submits the same number of tasks.
 *
 *   node --conditions=@drover/source --import tsx bench/fairness.ts [--backend bullmq|rabbitmq] [--noisy 10000] [--quiet 50] [--run-ms 50] [--concurrency 100] [--runs 3]
 *
 * Targets (issue 13): quiet p99 wait ≤ 2 × one task's run time plus dispatch; throughput ≥ 0.9 ×
 * the single-tenant run. Each task sleeps --run-ms; the worker runs --concurrency at once. With
 * round-robin between tenants the quiet tenant gets half the slots as they free up, so its 50
 * tasks start within about one run time when the concurrency is at least twice its count.
 * On rabbitmq (tenant lanes, a freed slot offered to the lanes from a random one) the quiet
 * tenant gets about half the slots, not exactly half. Uses DROVER_BENCH_REDIS_URL (and
 * DROVER_BENCH_AMQP_URL) when set, else a private redis-server (and RabbitMQ) on free loopback ports.
 */
import { parseArgs } from 'node:util';
import { type Backend, completeSubmit } from '@drover/shared';
import { BullmqBackend } from '@drover/shared/bullmq';
import { RabbitmqBackend } from '@drover/shared/rabbitmq';
import { RabbitmqServer, RedisServer, uniqueName } from '@drover/testkit';
import amqplib from 'amqplib';
import { createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';

const { values } = parseArgs({
  options: {
    noisy: { type: 'string', default: '10000' },
    quiet: { type: 'string', default: '50' },
    'run-ms': { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'bullmq' },
  },
});
const BACKEND = values.backend;
if (BACKEND !== 'bullmq' && BACKEND !== 'rabbitmq') throw new Error('--backend is bullmq or rabbitmq');
const NOISY = Number(values.noisy);
const QUIET = Number(values.quiet);
const RUN_MS = Number(values['run-ms']);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

interface Run {
  /** Waits (submit to handler start) of the quiet tenant's tasks, ms. */
  quietWaits: number[];
  /** Tasks per second over the whole drain. */
  throughput: number;
}

/**
 * The quiet tenant arriving while the noisy one's backlog drains (its submit comes once a tenth of
 * it has run); with noisy = 0, the same on an empty queue (the baseline wait).
 */
async function contended(url: string, noisy: number, lateTenant = 'quiet'): Promise<Run> {
  const prefix = uniqueName('fair');
  const backend: Backend =
    BACKEND === 'rabbitmq'
      ? new RabbitmqBackend({ amqpUrl: amqpUrl!, redisUrl: url, prefix, queues: ['general'], resultTtlSeconds: 3600 })
      : new BullmqBackend({ redisUrl: url, prefix, queues: ['general'], resultTtlSeconds: 3600 });
  const lateWaits: number[] = [];
  let late = new Set<string>();
  let done = 0;
  const total = noisy + QUIET;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((r) => {
    finished = r;
  });
  const work = defineTask({
    name: 'work',
    queue: 'general',
    input: Type.Object({}),
    run: async (_input, ctx) => {
      if (late.has(ctx.task.id)) lateWaits.push(Date.now() - Date.parse(ctx.task.createdAt));
      await new Promise((r) => setTimeout(r, RUN_MS));
      if (++done === total) finished();
      return null;
    },
  });
  for (let i = 0; i < noisy; i += 1000) {
    await backend.submitMany(Array.from({ length: Math.min(1000, noisy - i) }, () => completeSubmit({ type: 'work', queue: 'general', tenant: 'noisy', input: {}, timeoutMs: 600_000 })));
  }
  const worker = createWorker({ backend, tasks: [work], concurrency: CONCURRENCY, queues: ['general'], heartbeatMs: 60_000, maxAgents: 100_000 });
  const t0 = performance.now();
  await worker.start();
  // Let the noisy backlog run for a while (the queue is full of it), then the quiet tenant comes.
  while (done < Math.min(noisy / 10, 1000)) await new Promise((r) => setTimeout(r, 5));
  // On an empty queue: a worker idle for a while (blocked on the queue's marker), not one starting up.
  if (noisy === 0) await new Promise((r) => setTimeout(r, 500));
  late = new Set<string>();
  for (const r of await backend.submitMany(Array.from({ length: QUIET }, () => completeSubmit({ type: 'work', queue: 'general', tenant: lateTenant, input: {}, timeoutMs: 600_000 })))) late.add(r.task.id);
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await worker.drain(0);
  await backend.close();
  if (BACKEND === 'rabbitmq') await deleteBrokerQueues(prefix);
  return { quietWaits: lateWaits, throughput: total / seconds };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const median = (xs: number[]) => pct(xs, 50);

const shared = process.env['DROVER_BENCH_REDIS_URL'];
const server = shared ? undefined : await RedisServer.start();
const url = shared ?? server!.url;
const rabbit = BACKEND !== 'rabbitmq' || process.env['DROVER_BENCH_AMQP_URL'] ? undefined : await RabbitmqServer.start();
const amqpUrl = process.env['DROVER_BENCH_AMQP_URL'] ?? rabbit?.url;

/** Leaves a broker given by DROVER_BENCH_AMQP_URL as it was: the run's queues (both tenants' lanes) and exchange go. */
async function deleteBrokerQueues(prefix: string): Promise<void> {
  const conn = await amqplib.connect(amqpUrl!);
  const ch = await conn.createChannel();
  for (const name of ['general', 'general~noisy', 'general~quiet', 'dead']) await ch.deleteQueue(`${prefix}.${name}`);
  await ch.deleteExchange(`${prefix}.dead-letter`);
  await conn.close();
}

const rows: Array<{ empty: Run; fair: Run; single: Run }> = [];
for (let i = 1; i <= RUNS; i++) {
  const empty = await contended(url, 0);
  const fair = await contended(url, NOISY);
  // The same with one tenant: the late 50 are the noisy tenant's own, and wait their turn (FIFO).
  const single = await contended(url, NOISY, 'noisy');
  rows.push({ empty, fair, single });
  console.log(
    `run ${i}: quiet wait on an empty queue p50 ${median(empty.quietWaits).toFixed(0)} ms p99 ${pct(empty.quietWaits, 99).toFixed(0)} ms; behind ${NOISY} noisy tasks p50 ${median(fair.quietWaits).toFixed(0)} ms p99 ${pct(fair.quietWaits, 99).toFixed(0)} ms; the same 50 from the noisy tenant itself p50 ${median(single.quietWaits).toFixed(0)} ms; throughput ${fair.throughput.toFixed(0)} vs one tenant ${single.throughput.toFixed(0)} tasks/s (${(fair.throughput / single.throughput).toFixed(2)})`,
  );
}
const m = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
const p99 = m((r) => pct(r.fair.quietWaits, 99));
const ratio = m((r) => r.fair.throughput / r.single.throughput);
console.log(`\nfairness: ${NOISY} noisy tasks then ${QUIET} quiet ones, ${RUN_MS} ms each, concurrency ${CONCURRENCY}, ${BACKEND}, medians of ${RUNS} runs`);
console.log('| figure | value |');
console.log('|---|---:|');
console.log(`| quiet wait, empty queue, p50 / p99 (ms) | ${m((r) => median(r.empty.quietWaits)).toFixed(0)} / ${m((r) => pct(r.empty.quietWaits, 99)).toFixed(0)} |`);
console.log(`| quiet wait behind the noisy backlog, p50 / p99 (ms) | ${m((r) => median(r.fair.quietWaits)).toFixed(0)} / ${p99.toFixed(0)} |`);
console.log(`| target p99: 2 × run time + dispatch (ms) | ≤ ${2 * RUN_MS} + dispatch |`);
console.log(`| the same 50 late tasks from the noisy tenant itself (FIFO), p50 (ms) | ${m((r) => median(r.single.quietWaits)).toFixed(0)} |`);
console.log(`| throughput, two tenants / one tenant (tasks/s) | ${m((r) => r.fair.throughput).toFixed(0)} / ${m((r) => r.single.throughput).toFixed(0)} (${ratio.toFixed(2)}, target ≥ 0.9) |`);
await server?.stop();
await rabbit?.stop();
process.exit(0);
