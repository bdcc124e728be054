/**
 * Draining 20k no-op tasks at concurrency 50: a raw BullMQ Worker against Drover's bullmq backend
 * driven by the real worker runtime (createWorker from @drover/worker, which calls
 * backend.consume()).
 *
 *   node --conditions=@drover/source --import tsx bench/drain.ts [--jobs 20000] [--concurrency 50] [--runs 9] [--priority 10]  (10 is Drover's default priority)
 *
 * Sides, each run in its own child process (fresh heap and JIT), alternating, same Redis:
 *   raw        BullMQ Queue.addBulk + Worker, plain (non-prioritized) jobs: the baseline
 *   raw-prio   the same with the BullMQ priority Drover's --priority maps to (omitted when that
 *              is the plain list): what BullMQ's priority path costs by itself
 *   consume    Drover submitMany + backend.consume(): the backend alone
 *   traced     (with --tracing) createWorker with OpenTelemetry on: a span per run, exported over
 *              OTLP/HTTP to a sink in this process, against `worker` (tracing off) in the same round
 *   worker     Drover submitMany + createWorker(): the backend under the real worker runtime
 * Enqueueing (chunks of 1,000) is not timed; the drain is timed from the worker's creation until
 * every job is completed. Besides jobs/s (wall clock, noisy on a shared machine) each run reports
 * the CPU this process spent per job, which noise on other cores barely moves.
 * Uses DROVER_BENCH_REDIS_URL when set, else a private redis-server on a free loopback port.
 *
 * Instructions per job instead of time (needs valgrind): each side runs under callgrind, counting
 * from the moment a quarter of the jobs are done (JIT warmed up) to the end of the drain. The
 * count moves far less with the machine's noise than time does (±2% within one invocation, up to
 * ±5% between invocations: compare sides within one), but Node runs ~50x slower under valgrind,
 * so each read brings many replies: it weighs the JavaScript work per job more than a real drain
 * does (bench/README.md).
 *   node --conditions=@drover/source --import tsx bench/drain.ts --instructions --jobs 8000 --runs 3
 *
 * One side alone, with a CPU profile of its drain phase written to DIR:
 *   node --conditions=@drover/source --import tsx bench/drain.ts --run worker --redis URL --prefix P --profile DIR
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { otlpSink } from './otlp-sink.js';
import { RedisServer, deleteKeys, redisCpuSeconds } from '@drover/testkit';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    runs: { type: 'string', default: '9' },
    priority: { type: 'string', default: '10' },
    profile: { type: 'string' },
    instructions: { type: 'boolean', default: false },
    tracing: { type: 'boolean', default: false },
  },
});

type Side = 'raw' | 'raw-prio' | 'consume' | 'worker' | 'traced';
interface Figures {
  seconds: number;
  cpuMs: number;
  /** Time spent in GC pauses during the drain: runs in the "promoting" mode (bench/README.md) stand out. */
  gcMs: number;
  /** Redis's own CPU over the drain (INFO cpu): the same scripts on either side, so it shows how much of a job's cost neither side controls. */
  redisCpuMs: number;
  /** With --instructions: how many jobs finished while callgrind counted, and what it counted. */
  countedJobs?: number;
  instructions?: number;
}

const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const PRIORITY = Number(values.priority);
const CHUNK = 1000;
const QUEUE = 'bench';

if (values.run) {
  const side = values.run as Side;
  const figures = side === 'raw' || side === 'raw-prio' ? await rawRun(values.redis!, values.prefix!, side) : await droverRun(values.redis!, values.prefix!, side);
  console.log(JSON.stringify(figures));
  process.exit(0);
} else {
  await main();
}

/**
 * Times (and with --profile, profiles) the drain phase only: from `start()` (which starts the
 * side's worker and returns how to stop it) until every job is completed. Every side waits the
 * same way, with one ZCARD of BullMQ's completed set every 10 ms on a connection of its own: the
 * poll is the harness, not the side under test, so it must cost every side the same (Drover's own
 * counts() reads six states and the pause flag, raw BullMQ's getJobCounts('completed') one; polled
 * from the measured process, that difference alone was charged to Drover's side). The same
 * connection reads Redis's CPU before and after.
 */
async function measured(redisUrl: string, prefix: string, start: () => Promise<() => Promise<void>>): Promise<Figures> {
  let session: import('node:inspector/promises').Session | undefined;
  if (values.profile) {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const poll = new Redis(redisUrl);
  const completed = `${prefix}:${QUEUE}:completed`;
  const redis0 = await redisCpuSeconds(poll);
  const { PerformanceObserver } = await import('node:perf_hooks');
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = await start();
  const deadline = Date.now() + 300_000;
  let countedFrom = -1;
  for (let done = await poll.zcard(completed); done < JOBS; done = await poll.zcard(completed)) {
    if (Date.now() > deadline) throw new Error('drain did not finish within 300 s');
    if (values.instructions && countedFrom < 0 && done >= JOBS / 4) {
      callgrind('on');
      countedFrom = await poll.zcard(completed);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (values.instructions) callgrind('off');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisCpuMs = ((await redisCpuSeconds(poll)) - redis0) * 1000;
  poll.disconnect();
  gc.disconnect();
  if (session) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(values.profile!, { recursive: true });
    writeFileSync(`${values.profile}/${values.run}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
  await stop();
  const figures: Figures = { seconds, cpuMs: (cpu.user + cpu.system) / 1000, gcMs, redisCpuMs };
  if (values.instructions) figures.countedJobs = JOBS - countedFrom;
  return figures;
}

/** Turns callgrind's counting on or off for this process (it runs under valgrind). */
function callgrind(state: 'on' | 'off'): void {
  execFileSync('callgrind_control', ['--instr', state, String(process.pid)], { stdio: 'ignore' });
}

async function rawRun(redisUrl: string, prefix: string, side: Side): Promise<Figures> {
  const { Queue, Worker } = await import('bullmq');
  const { toBullmqPriority } = await import('../packages/shared/src/backends/bullmq/job-record.js');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE, { connection, prefix });
  const opts = side === 'raw-prio' ? { priority: toBullmqPriority(PRIORITY) } : {};
  for (let i = 0; i < JOBS; i += CHUNK) {
    await queue.addBulk(Array.from({ length: Math.min(CHUNK, JOBS - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts })));
  }
  const figures = await measured(redisUrl, prefix, async () => {
    // Same retention as Drover's worker, so both pay for removeOnComplete by age.
    const worker = new Worker(QUEUE, async () => null, { connection: { ...connectionOptions(redisUrl), maxRetriesPerRequest: null }, prefix, concurrency: CONCURRENCY, removeOnComplete: { age: 3600 } });
    return () => worker.close();
  });
  await queue.close();
  await connection.quit();
  return figures;
}

async function droverRun(redisUrl: string, prefix: string, side: Side): Promise<Figures> {
  const { Type } = await import('@sinclair/typebox');
  const { completeSubmit, startTracing } = await import('@drover/shared');
  const { BullmqBackend } = await import('@drover/shared/bullmq');
  const { createWorker, defineTask } = await import('@drover/worker');
  const backend = new BullmqBackend({ redisUrl, prefix, queues: [QUEUE], resultTtlSeconds: 3600 });
  for (let i = 0; i < JOBS; i += CHUNK) {
    await backend.submitMany(
      Array.from({ length: Math.min(CHUNK, JOBS - i) }, (_, j) => completeSubmit({ type: 'noop', queue: QUEUE, tenant: 'bench', priority: PRIORITY, input: { n: i + j } })),
    );
  }
  const noop = defineTask({ name: 'noop', queue: QUEUE, input: Type.Object({ n: Type.Number() }), run: async () => null });
  const figures = await measured(redisUrl, prefix, async () => {
    if (side === 'worker' || side === 'traced') {
      // As production runs it: the cluster-wide agent cap on (DROVER_MAX_AGENTS' default). Traced:
      // a span per run, exported over OTLP/HTTP to the parent's sink (OTEL_EXPORTER_OTLP_ENDPOINT).
      const tracing = side === 'traced' ? await startTracing({ tracing: true, exporter: 'otlp', serviceName: 'bench' }, 'bench') : undefined;
      const worker = createWorker({ backend, tasks: [noop], concurrency: CONCURRENCY, heartbeatMs: 60_000, maxAgents: 500, ...(tracing ? { tracer: tracing.tracer } : {}) });
      await worker.start();
      return async () => {
        await worker.drain(0);
        await tracing?.shutdown();
      };
    }
    const consumer = await backend.consume(QUEUE, { concurrency: CONCURRENCY, handler: async () => null });
    return () => consumer.close(0);
  });
  await backend.close();
  return figures;
}

function instructionsPerJob(f: Figures): number {
  return f.instructions! / f.countedJobs!;
}

function connectionOptions(redisUrl: string): { host: string; port: number } {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

async function runChild(side: Side, redisUrl: string, sinkUrl: string | undefined): Promise<Figures> {
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  let args = [...process.execArgv, import.meta.filename, '--run', side, '--redis', redisUrl, '--prefix', prefix];
  args.push('--jobs', String(JOBS), '--concurrency', String(CONCURRENCY), '--priority', String(PRIORITY));
  let command = process.execPath;
  const counts = values.instructions ? join(tmpdir(), `drover-drain-${prefix}.callgrind`) : undefined;
  if (counts) {
    // --smc-check=all: V8 writes and patches machine code at run time.
    args = ['--tool=callgrind', '--smc-check=all', '--instr-atstart=no', `--callgrind-out-file=${counts}`, process.execPath, ...args, '--instructions'];
    command = 'valgrind';
  }
  const env = sinkUrl ? { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } : process.env;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', counts ? 'ignore' : 'inherit'], env });
  let figures: Figures | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    try {
      figures = JSON.parse(line) as Figures;
    } catch {
      // not the result line
    }
  }
  if (child.exitCode === null) await once(child, 'exit');
  if (!figures) throw new Error(`${side} run exited with code ${child.exitCode} and no result`);
  if (counts) {
    const totals = /^totals:\s+(\d+)/m.exec(readFileSync(counts, 'utf8'));
    rmSync(counts, { force: true });
    if (!totals) throw new Error(`${side}: callgrind wrote no totals`);
    figures.instructions = Number(totals[1]);
  }
  // Leave the next run an empty Redis.
  await deleteKeys(redisUrl, prefix);
  return figures;
}

async function main(): Promise<void> {
  const { toBullmqPriority } = await import('../packages/shared/src/backends/bullmq/job-record.js');
  const sides: Side[] = toBullmqPriority(PRIORITY) > 0 ? ['raw', 'raw-prio', 'consume', 'worker'] : ['raw', 'consume', 'worker'];
  // --tracing: createWorker once more with OpenTelemetry on, exporting to a sink that discards.
  const sink = values.tracing ? await otlpSink() : undefined;
  if (sink) sides.push('traced');
  if (values.instructions && spawnSync('valgrind', ['--version']).status !== 0) {
    console.error('--instructions runs each side under valgrind, which is not installed here (Debian: apt-get install valgrind).');
    process.exit(2);
  }
  const own = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
  const redisUrl = process.env['DROVER_BENCH_REDIS_URL'] ?? own!.url;
  const runs = Number(values.runs);
  const results = new Map<Side, Figures[]>(sides.map((s) => [s, []]));
  try {
    for (let run = 1; run <= runs; run++) {
      // Each round starts with the next side, so no side always runs first or last in a round
      // (right after another side's process has exited, or just before the machine drifts).
      const order = sides.map((_, i) => sides[(i + run - 1) % sides.length]!);
      for (const side of order) {
        const f = await runChild(side, redisUrl, sink?.url);
        results.get(side)!.push(f);
        if (f.instructions !== undefined) {
          console.log(`run ${run} ${side.padEnd(8)} ${instructionsPerJob(f).toFixed(0).padStart(7)} instructions/job over the last ${f.countedJobs} jobs`);
          continue;
        }
        console.log(`run ${run} ${side.padEnd(8)} ${(JOBS / f.seconds).toFixed(0).padStart(7)} jobs/s  ${((f.cpuMs * 1000) / JOBS).toFixed(1).padStart(6)} µs CPU/job  Redis ${((f.redisCpuMs * 1000) / JOBS).toFixed(1).padStart(5)} µs/job  GC ${f.gcMs.toFixed(0).padStart(4)} ms`);
      }
    }
  } finally {
    await own?.stop();
    sink?.server.close();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  if (values.instructions) {
    const per = (s: Side) => med(results.get(s)!.map(instructionsPerJob));
    console.log('');
    console.log(`instructions per job under callgrind (Node process, after warm-up), ${JOBS} jobs, concurrency ${CONCURRENCY}, medians of ${runs} runs`);
    for (const s of sides) console.log(`  ${s.padEnd(8)} ${per(s).toFixed(0).padStart(7)}   raw / this: ${(per('raw') / per(s)).toFixed(2)}`);
    return;
  }
  const rate = (s: Side) => med(results.get(s)!.map((f) => JOBS / f.seconds));
  const cpu = (s: Side) => med(results.get(s)!.map((f) => (f.cpuMs * 1000) / JOBS));
  const redisCpu = (s: Side) => med(results.get(s)!.map((f) => (f.redisCpuMs * 1000) / JOBS));
  const label: Record<Side, string> = {
    raw: 'raw BullMQ Worker (plain jobs)',
    'raw-prio': `raw BullMQ Worker (priority ${toBullmqPriority(PRIORITY)})`,
    consume: 'Drover backend.consume()',
    worker: 'Drover createWorker()',
    traced: 'Drover createWorker(), tracing on',
  };
  console.log('');
  console.log(`drain ${JOBS} no-op jobs, concurrency ${CONCURRENCY}, Drover priority ${PRIORITY}, medians of ${runs} runs`);
  console.log('| side                               |  jobs/s | vs raw | µs CPU/job | Redis µs/job |');
  console.log('|------------------------------------|--------:|-------:|-----------:|-------------:|');
  for (const s of sides) {
    console.log(
      `| ${label[s].padEnd(34)} | ${rate(s).toFixed(0).padStart(7)} | ${(rate(s) / rate('raw')).toFixed(2).padStart(6)} | ${cpu(s).toFixed(1).padStart(10)} | ${redisCpu(s).toFixed(1).padStart(12)} |`,
    );
  }
  console.log(`ratio of medians, Drover createWorker / raw BullMQ: ${(rate('worker') / rate('raw')).toFixed(2)}  (target ≥ 0.90, goal 1.00)`);
  // The machine's speed drifts over a set (raw runs of one set have ranged over 1.5x); the two
  // runs of a round are seconds apart, so their ratio is the paired figure drift moves least.
  const paired = (s: Side) => med(results.get(s)!.map((f, i) => results.get('raw')![i]!.seconds / f.seconds));
  console.log(`median of per-round ratios (each round's run against that round's raw run): consume ${paired('consume').toFixed(2)}, createWorker ${paired('worker').toFixed(2)}`);
  if (sink) {
    const offOn = med(results.get('traced')!.map((f, i) => results.get('worker')![i]!.seconds / f.seconds));
    console.log(`tracing on / off (createWorker, median of per-round ratios): ${offOn.toFixed(2)}; spans received by the sink: ${sink.spans()}`);
  }
}

