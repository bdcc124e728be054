/**
 * The fan-out path: 1 parent × N children (default 1,000) with fan-in, from submit to the
 * parent's result, on one Redis, against a BullMQ FlowProducer doing the same.
 *
 *   node --conditions=@drover/source --import tsx bench/fanout.ts [--children 1000] [--concurrency 50] [--runs 5]
 *
 * - drover: a `fan` parent submitted through the bullmq backend, run by createWorker(); it calls
 *   ctx.spawn() N times and ctx.all(), so it suspends (its slot freed) and resumes once the children
 *   are done, finding them memoised. Children are `leaf` tasks that return their index.
 * - flow: FlowProducer.add() of the parent with N children on a child queue, a BullMQ Worker on
 *   each queue; the parent's processor reads getChildrenValues() and sums them.
 * Both sides run their children at the same concurrency in this process, alternately, each on a
 * fresh prefix. "Redis calls per child" is the delta of INFO commandstats over the run (every
 * command: scripts, reads, blocking fetches, the harness's polling of the parent) divided by N.
 * The two do different work: Drover's parent runs first and spawns at run time (a handler decides
 * its children), the flow is declared whole at submit time.
 * Uses DROVER_BENCH_REDIS_URL when set, else a private redis-server on a free loopback port.
 */
import { parseArgs } from 'node:util';
import { completeSubmit } from '@drover/shared';
import { BullmqBackend } from '@drover/shared/bullmq';
import { RedisServer, uniqueName } from '@drover/testkit';
import { createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    children: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    runs: { type: 'string', default: '5' },
  },
});
const N = Number(values.children);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

interface Figures {
  ms: number;
  callsPerChild: number;
}

async function totalCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

async function droverRun(url: string): Promise<Figures> {
  const prefix = uniqueName('fan-drover');
  const backend = new BullmqBackend({ redisUrl: url, prefix, queues: ['fan', 'leaf'], resultTtlSeconds: 3600 });
  const leaf = defineTask({ name: 'leaf', queue: 'leaf', input: Type.Object({ i: Type.Integer() }), run: async (input) => input.i });
  const fan = defineTask({
    name: 'fan',
    queue: 'fan',
    input: Type.Object({ n: Type.Integer() }),
    timeoutMs: 600_000,
    run: async (input, ctx) => {
      const handles = Array.from({ length: input.n }, (_, i) => ctx.spawn('leaf', { i }));
      const values = (await ctx.all(handles)) as number[];
      return values.reduce((a, b) => a + b, 0);
    },
  });
  // One worker for the parents and one for the children, as a deployment would split them.
  const parents = createWorker({ backend, tasks: [fan, leaf], concurrency: 2, queues: ['fan'], heartbeatMs: 60_000, maxAgents: 500 });
  const children = createWorker({ backend, tasks: [fan, leaf], concurrency: CONCURRENCY, queues: ['leaf'], heartbeatMs: 60_000, maxAgents: 500 });
  await parents.start();
  await children.start();
  const stats = new Redis(url);
  const calls0 = await totalCalls(stats);
  const t0 = performance.now();
  const { task } = await backend.submit(completeSubmit({ type: 'fan', queue: 'fan', tenant: 'bench', input: { n: N }, timeoutMs: 600_000 }));
  let record = await backend.get(task.id);
  while (record?.status !== 'succeeded') {
    if (record?.status === 'failed') throw new Error(`parent failed: ${JSON.stringify(record.error)}`);
    await new Promise((r) => setTimeout(r, 5));
    record = await backend.get(task.id);
  }
  const ms = performance.now() - t0;
  const calls = (await totalCalls(stats)) - calls0;
  if (record.output !== (N * (N - 1)) / 2) throw new Error(`wrong fan-in: ${JSON.stringify(record.output)}`);
  await parents.drain(0);
  await children.drain(0);
  await backend.close();
  stats.disconnect();
  return { ms, callsPerChild: calls / N };
}

async function flowRun(url: string): Promise<Figures> {
  const prefix = uniqueName('fan-flow');
  const connection = { url, maxRetriesPerRequest: null } as unknown as import('bullmq').ConnectionOptions;
  const flow = new FlowProducer({ connection, prefix });
  const childWorker = new Worker('leaf', async (job) => (job.data as { i: number }).i, { connection, prefix, concurrency: CONCURRENCY });
  const parentWorker = new Worker(
    'fan',
    async (job) => {
      const values = Object.values(await job.getChildrenValues()) as number[];
      return values.reduce((a, b) => a + b, 0);
    },
    { connection, prefix, concurrency: 2 },
  );
  await Promise.all([childWorker.waitUntilReady(), parentWorker.waitUntilReady()]);
  const parentQueue = new Queue('fan', { connection, prefix });
  const events = new QueueEvents('fan', { connection, prefix });
  await events.waitUntilReady();
  const stats = new Redis(url);
  const calls0 = await totalCalls(stats);
  const t0 = performance.now();
  const node = await flow.add({
    name: 'fan',
    queueName: 'fan',
    data: {},
    children: Array.from({ length: N }, (_, i) => ({ name: 'leaf', queueName: 'leaf', data: { i } })),
  });
  const output = await node.job.waitUntilFinished(events, 600_000);
  const ms = performance.now() - t0;
  const calls = (await totalCalls(stats)) - calls0;
  if (output !== (N * (N - 1)) / 2) throw new Error(`wrong fan-in: ${JSON.stringify(output)}`);
  await Promise.all([childWorker.close(), parentWorker.close(), flow.close(), parentQueue.close(), events.close()]);
  stats.disconnect();
  return { ms, callsPerChild: calls / N };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const shared = process.env['DROVER_BENCH_REDIS_URL'];
const server = shared ? undefined : await RedisServer.start();
const url = shared ?? server!.url;
const drover: Figures[] = [];
const flow: Figures[] = [];
// A warm-up pair, not counted (JIT, script loading).
await flowRun(url);
await droverRun(url);
for (let run = 1; run <= RUNS; run++) {
  const f = await flowRun(url);
  const d = await droverRun(url);
  flow.push(f);
  drover.push(d);
  console.log(`run ${run}: FlowProducer ${f.ms.toFixed(0)} ms (${f.callsPerChild.toFixed(1)} calls/child)   Drover ${d.ms.toFixed(0)} ms (${d.callsPerChild.toFixed(1)} calls/child)   ratio ${(f.ms / d.ms).toFixed(2)}`);
}
const fm = median(flow.map((f) => f.ms));
const dm = median(drover.map((d) => d.ms));
console.log(`\nfan-out 1 parent x ${N} children, fan-in, child concurrency ${CONCURRENCY}, medians of ${RUNS} runs`);
console.log('| side | submit to fan-in (ms) | children/s | Redis calls per child |');
console.log('|---|---:|---:|---:|');
console.log(`| BullMQ FlowProducer | ${fm.toFixed(0)} | ${((N / fm) * 1000).toFixed(0)} | ${median(flow.map((f) => f.callsPerChild)).toFixed(1)} |`);
console.log(`| Drover ctx.spawn + ctx.all | ${dm.toFixed(0)} | ${((N / dm) * 1000).toFixed(0)} | ${median(drover.map((d) => d.callsPerChild)).toFixed(1)} |`);
console.log(`median per-run speed ratio, Drover vs FlowProducer: ${median(flow.map((f, i) => f.ms / drover[i]!.ms)).toFixed(2)} (above 1 = Drover faster)`);
await server?.stop();
process.exit(0);
