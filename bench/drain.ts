/**
 * Draining 20k no-op tasks at concurrency 50: a raw BullMQ Worker against Drover's bullmq backend
 * driven by the real worker runtime (createWorker from @drover/worker, which calls
 * backend.consume()).
 *
 *   node --conditions=@drover/source --import tsx bench/drain.ts [--jobs 20000] [--concurrency 50] [--runs 3]
 *
 * Both sides enqueue the same number of jobs first (addBulk / submitMany in chunks of 1,000, not
 * timed), then time the drain from the worker's creation until every job is completed. Each run
 * is a child process of this script (fresh heap and JIT), runs alternate raw/drover on the same
 * Redis, and medians are printed with their ratio. Uses DROVER_BENCH_REDIS_URL when set, else a
 * private redis-server on a free loopback port.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { RedisServer } from '@drover/testkit';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
  },
});

const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const CHUNK = 1000;
const QUEUE = 'bench';

if (values.run) {
  const seconds = values.run === 'raw' ? await rawRun(values.redis!, values.prefix!) : await droverRun(values.redis!, values.prefix!);
  console.log(JSON.stringify({ seconds }));
  process.exit(0);
} else {
  await main();
}

/** Polls the completed count (both sides the same way) until every job is done. */
async function waitForCompleted(count: () => Promise<number>): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await count()) < JOBS) {
    if (Date.now() > deadline) throw new Error('drain did not finish within 300 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rawRun(redisUrl: string, prefix: string): Promise<number> {
  const { Queue, Worker } = await import('bullmq');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE, { connection, prefix });
  for (let i = 0; i < JOBS; i += CHUNK) {
    await queue.addBulk(Array.from({ length: Math.min(CHUNK, JOBS - i) }, (_, j) => ({ name: 'noop', data: { n: i + j } })));
  }
  const t0 = performance.now();
  // Same retention as Drover's worker, so both pay for removeOnComplete by age.
  const worker = new Worker(QUEUE, async () => null, { connection: { ...connectionOptions(redisUrl), maxRetriesPerRequest: null }, prefix, concurrency: CONCURRENCY, removeOnComplete: { age: 3600 } });
  await waitForCompleted(async () => (await queue.getJobCounts('completed'))['completed'] ?? 0);
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.close();
  await connection.quit();
  return seconds;
}

async function droverRun(redisUrl: string, prefix: string): Promise<number> {
  const { Type } = await import('@sinclair/typebox');
  const { BullmqBackend, completeSubmit } = await import('@drover/shared');
  const { createWorker, defineTask } = await import('@drover/worker');
  const backend = new BullmqBackend({ redisUrl, prefix, queues: [QUEUE], resultTtlSeconds: 3600 });
  for (let i = 0; i < JOBS; i += CHUNK) {
    await backend.submitMany(
      Array.from({ length: Math.min(CHUNK, JOBS - i) }, (_, j) => completeSubmit({ type: 'noop', queue: QUEUE, tenant: 'bench', input: { n: i + j } })),
    );
  }
  const noop = defineTask({ name: 'noop', queue: QUEUE, input: Type.Object({ n: Type.Number() }), run: async () => null });
  const t0 = performance.now();
  const worker = createWorker({ backend, tasks: [noop], concurrency: CONCURRENCY, heartbeatMs: 60_000 });
  await worker.start();
  await waitForCompleted(async () => (await backend.counts(QUEUE)).succeeded);
  const seconds = (performance.now() - t0) / 1000;
  await worker.drain(0);
  await backend.close();
  return seconds;
}

function connectionOptions(redisUrl: string): { host: string; port: number } {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

async function runChild(kind: 'raw' | 'drover', redisUrl: string): Promise<number> {
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const args = ['--conditions=@drover/source', '--import', 'tsx', import.meta.filename, '--run', kind, '--redis', redisUrl, '--prefix', prefix];
  args.push('--jobs', String(JOBS), '--concurrency', String(CONCURRENCY));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let seconds: number | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    try {
      seconds = (JSON.parse(line) as { seconds: number }).seconds;
    } catch {
      // not the result line
    }
  }
  if (child.exitCode === null) await once(child, 'exit');
  if (seconds === undefined) throw new Error(`${kind} run exited with code ${child.exitCode} and no result`);
  // Leave the next run an empty Redis.
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
  return seconds;
}

async function main(): Promise<void> {
  const own = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
  const redisUrl = process.env['DROVER_BENCH_REDIS_URL'] ?? own!.url;
  const runs = Number(values.runs);
  const rates: Record<'raw' | 'drover', number[]> = { raw: [], drover: [] };
  try {
    for (let run = 1; run <= runs; run++) {
      for (const kind of ['raw', 'drover'] as const) {
        const seconds = await runChild(kind, redisUrl);
        rates[kind].push(JOBS / seconds);
        console.log(`run ${run} ${kind.padEnd(7)} ${(JOBS / seconds).toFixed(0).padStart(7)} jobs/s  (${seconds.toFixed(2)} s)`);
      }
    }
  } finally {
    await own?.stop();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = med(rates.raw);
  const drover = med(rates.drover);
  console.log('');
  console.log(`drain ${JOBS} no-op jobs, concurrency ${CONCURRENCY}, median of ${runs} runs`);
  console.log('| side                                  | jobs/s |');
  console.log('|---------------------------------------|-------:|');
  console.log(`| raw BullMQ Worker                     | ${raw.toFixed(0).padStart(6)} |`);
  console.log(`| Drover (createWorker → bullmq backend) | ${drover.toFixed(0).padStart(6)} |`);
  console.log(`ratio drover/raw (of medians): ${(drover / raw).toFixed(2)}  (target ≥ 0.90, goal 1.00)`);
}
