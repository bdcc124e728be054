/**
 * Draining 20k no-op tasks on the rabbitmq backend, against raw amqplib (persistent messages,
 * publisher confirms, prefetch 50, manual acks) and against Drover on bullmq, in one run.
 *
 *   node --conditions=@drover/source --import tsx bench/rabbitmq-drain.ts [--tasks 20000] [--runs 3] [--concurrency 50]
 *     [--priority-baseline]   also drain raw amqplib from an x-max-priority queue (what the queue type costs)
 *     [--only 'drover rabbitmq,raw amqplib']   run only these contenders (profiling)
 *
 * Each run enqueues all tasks first (timed as "enqueue"), then starts the consumer and times
 * until every task is recorded as finished ("drain"). Runs alternate raw / rabbitmq / bullmq;
 * medians and ratios are printed. Uses DROVER_BENCH_AMQP_URL / DROVER_BENCH_REDIS_URL when set,
 * else a private rabbitmq-server and redis-server on free loopback ports.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Backend, completeSubmit } from '@drover/shared';
import { BullmqBackend } from '@drover/shared/bullmq';
import { RabbitmqBackend } from '@drover/shared/rabbitmq';
import { RabbitmqServer, RedisServer, deleteKeys } from '@drover/testkit';
import { TaskKeys } from '../packages/shared/src/backends/rabbitmq/task-keys.js';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    only: { type: 'string' },
    'priority-baseline': { type: 'boolean', default: false },
  },
});
const TASKS = Math.min(200_000, Number(values.tasks));
const RUNS = Math.min(10, Number(values.runs));
const CONCURRENCY = Number(values.concurrency);
const DRAIN_LIMIT_MS = 180_000;

interface Figures {
  enqueueMs: number;
  drainMs: number;
}

const rabbit = process.env['DROVER_BENCH_AMQP_URL'] ? undefined : await RabbitmqServer.start();
const redis = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
const amqpUrl = process.env['DROVER_BENCH_AMQP_URL'] ?? rabbit!.url;
const redisUrl = process.env['DROVER_BENCH_REDIS_URL'] ?? redis!.url;
const tag = () => `bench-${randomBytes(4).toString('hex')}`;

async function rawAmqplib(priorityQueue = false): Promise<Figures> {
  const queue = tag();
  const conn = await amqplib.connect(amqpUrl);
  const pub = await conn.createConfirmChannel();
  // The baseline is a plain durable queue; --priority-baseline adds the same drain on a queue
  // declared like Drover's (x-max-priority 10, messages at priority 10), to show what the queue type costs.
  await pub.assertQueue(queue, { durable: true, ...(priorityQueue ? { arguments: { 'x-max-priority': 10 } } : {}) });
  const publishOptions = priorityQueue ? { persistent: true, priority: 10 } : { persistent: true };
  const body = Buffer.from(JSON.stringify({ type: 'echo', input: null }));
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i++) {
    if (!pub.sendToQueue(queue, body, publishOptions)) await new Promise((r) => pub.once('drain', r));
  }
  await pub.waitForConfirms();
  const enqueueMs = performance.now() - t0;

  const sub = await conn.createChannel();
  await sub.prefetch(CONCURRENCY);
  let done = 0;
  const t1 = performance.now();
  await new Promise<void>((resolveDrain, reject) => {
    const timer = setTimeout(() => reject(new Error('raw drain timed out')), DRAIN_LIMIT_MS);
    void sub.consume(queue, (msg) => {
      if (!msg) return;
      // The no-op "handler", then the ack, like a worker would.
      void Promise.resolve(JSON.parse(msg.content.toString())).then(() => {
        sub.ack(msg);
        if (++done === TASKS) {
          clearTimeout(timer);
          resolveDrain();
        }
      });
    });
  });
  const drainMs = performance.now() - t1;
  await pub.deleteQueue(queue);
  await conn.close();
  return { enqueueMs, drainMs };
}

async function drover(make: (prefix: string) => Promise<Backend>): Promise<Figures> {
  const prefix = tag();
  const backend = await make(prefix);
  const poll = new Redis(redisUrl);
  try {
    const reqs = Array.from({ length: TASKS }, () => completeSubmit({ type: 'echo', queue: 'bench', tenant: 'acme', input: null }));
    const t0 = performance.now();
    for (let i = 0; i < reqs.length; i += 1000) await backend.submitMany(reqs.slice(i, i + 1000));
    const enqueueMs = performance.now() - t0;

    // The drain ends when every task is recorded as succeeded. Both Drover sides poll that with
    // one ZCARD of the set their backend records it in, on a connection of their own: the poll
    // is the harness, so it costs each side the same (counts() would ask the broker too, on the
    // rabbitmq side only).
    const succeeded = backend.kind === 'rabbitmq' ? new TaskKeys(prefix).finished('bench', 'succeeded') : `${prefix}:bench:completed`;
    await poll.ping();
    const t1 = performance.now();
    const consumer = await backend.consume('bench', { concurrency: CONCURRENCY, handler: async () => null });
    const deadline = Date.now() + DRAIN_LIMIT_MS;
    while ((await poll.zcard(succeeded)) < TASKS) {
      if (Date.now() > deadline) throw new Error(`${backend.kind} drain timed out`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const drainMs = performance.now() - t1;
    if ((await backend.counts('bench')).succeeded !== TASKS) throw new Error(`${backend.kind}: counts() disagrees with the drained set`);
    await consumer.close(1000);
    return { enqueueMs, drainMs };
  } finally {
    poll.disconnect();
    await backend.close();
    if (backend.kind === 'rabbitmq') await deleteBrokerSide(prefix);
    await deleteKeys(redisUrl, prefix);
  }
}

/** Leaves a broker given by DROVER_BENCH_AMQP_URL as it was: the run's queues and exchange go (deleteKeys does the same for Redis). */
async function deleteBrokerSide(prefix: string): Promise<void> {
  const conn = await amqplib.connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(`${prefix}.bench`);
    await ch.deleteQueue(`${prefix}.bench~acme`); // the tenant's lane, where its tasks travel
    await ch.deleteQueue(`${prefix}.dead`);
    await ch.deleteExchange(`${prefix}.dead-letter`);
  } finally {
    await conn.close();
  }
}

const rabbitmqBackend = async (prefix: string): Promise<Backend> =>
  new RabbitmqBackend({ amqpUrl, redisUrl, prefix, queues: ['bench'], resultTtlSeconds: 3600 });

const bullmqBackend = async (prefix: string): Promise<Backend> => new BullmqBackend({ redisUrl, prefix, queues: ['bench'], resultTtlSeconds: 3600 });

type Contender = [name: string, run: () => Promise<Figures>];
const allContenders: Contender[] = [
  ['raw amqplib', () => rawAmqplib()],
  ...(values['priority-baseline'] ? [['raw amqplib prio', () => rawAmqplib(true)] satisfies Contender] : []),
  ['drover rabbitmq', () => drover(rabbitmqBackend)],
  ['drover bullmq', () => drover(bullmqBackend)],
];
const only = values.only?.split(',');
const contenders = allContenders.filter(([name]) => !only || only.includes(name));

const results = new Map<string, Figures[]>(contenders.map(([name]) => [name, []]));
try {
  console.log(`${TASKS} no-op tasks, concurrency/prefetch ${CONCURRENCY}, ${RUNS} alternating runs`);
  for (let run = 1; run <= RUNS; run++) {
    for (const [name, fn] of contenders) {
      let f: Figures;
      try {
        f = await fn();
      } catch (err) {
        console.log(`  run ${run} ${name.padEnd(16)} failed: ${String(err)}`);
        continue;
      }
      results.get(name)!.push(f);
      console.log(`  run ${run} ${name.padEnd(16)} enqueue ${rate(f.enqueueMs)} tasks/s   drain ${rate(f.drainMs)} tasks/s`);
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const perSecond = (ms: number) => TASKS / (ms / 1000);
  const med = new Map(
    [...results].map(([name, fs]) => [
      name,
      {
        enqueue: perSecond(median(fs.map((f) => f.enqueueMs))),
        drain: perSecond(median(fs.map((f) => f.drainMs))),
        total: perSecond(median(fs.map((f) => f.enqueueMs + f.drainMs))),
      },
    ]),
  );
  console.log('\nmedians (tasks/s; total = enqueue then drain, end to end)');
  for (const [name, m] of med) {
    console.log(`  ${name.padEnd(16)} enqueue ${m.enqueue.toFixed(0).padStart(7)}   drain ${m.drain.toFixed(0).padStart(7)}   total ${m.total.toFixed(0).padStart(7)}`);
  }
  const ours = med.get('drover rabbitmq');
  const raw = med.get('raw amqplib');
  const rawPrio = med.get('raw amqplib prio');
  const bull = med.get('drover bullmq');
  if (ours) {
    console.log('\nratios (drover rabbitmq / baseline)');
    const ratios = (base: { enqueue: number; drain: number; total: number }) =>
      `drain ${(ours.drain / base.drain).toFixed(2)}x   enqueue ${(ours.enqueue / base.enqueue).toFixed(2)}x   total ${(ours.total / base.total).toFixed(2)}x`;
    if (raw) console.log(`  vs raw amqplib    ${ratios(raw)}   (target >= 0.5)`);
    if (rawPrio) console.log(`  vs raw prio queue ${ratios(rawPrio)}   (information only)`);
    if (bull) console.log(`  vs drover bullmq  ${ratios(bull)}   (target >= 1.0)`);
  }
  if (raw && rawPrio) console.log(`\nx-max-priority queue / plain queue, raw amqplib: drain ${(rawPrio.drain / raw.drain).toFixed(2)}x`);
} finally {
  await rabbit?.stop();
  await redis?.stop();
}

function rate(ms: number): string {
  return (TASKS / (ms / 1000)).toFixed(0).padStart(7);
}
