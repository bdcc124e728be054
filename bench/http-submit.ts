/**
 * POST /v1/tasks throughput and p99 latency: Drover's orchestrator (bullmq backend, auth on,
 * schema validation on) against a plain Fastify handler that calls BullMQ's queue.add().
 *
 *   node --conditions=@drover/source --import tsx bench/http-submit.ts [--duration 10] [--connections 50] [--runs 3] [--tracing]
 *
 * --tracing adds a third server: the orchestrator with OpenTelemetry on (a span per submission,
 * exported over OTLP/HTTP to a sink in this process that counts and discards).
 *
 * Each server runs in a child process of this script; autocannon runs here, so load generator
 * and server do not share an event loop. Runs alternate baseline/drover; medians are printed,
 * with the CPU each request cost the server process and Redis (on a 2-core machine with the load
 * generator beside them, CPU per request is what decides throughput).
 * Uses DROVER_BENCH_REDIS_URL when set, else a private redis-server on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { otlpSink } from './otlp-sink.js';
import autocannon from 'autocannon';
import { RedisServer, deleteKeys, redisCpuSeconds } from '@drover/testkit';
import { Redis } from 'ioredis';

const KEY = 'bench-key-0123456789abcdef';
const BODY = JSON.stringify({ type: 'echo', input: { prompt: 'benchmark', n: 1 } });

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    tracing: { type: 'boolean', default: false },
  },
});

if (values.serve) await serve(values.serve, values.redis!, values.prefix!);
else await main();

async function serve(kind: string, redisUrl: string, prefix: string): Promise<void> {
  if (kind === 'baseline') {
    const { default: Fastify } = await import('fastify');
    const { Queue } = await import('bullmq');
    const queue = new Queue('general', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix });
    const app = Fastify();
    app.post('/v1/tasks', async (req, reply) => {
      const body = req.body as { type: string; input: unknown };
      const job = await queue.add(body.type, body.input);
      reply.code(201);
      return { id: job.id, status: 'queued' };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
    return;
  }
  const { buildApp } = await import('@drover/orchestrator');
  const { createBackend, loadConfig, startTracing } = await import('@drover/shared');
  const config = loadConfig({
    DROVER_REDIS_URL: redisUrl,
    DROVER_PREFIX: prefix,
    DROVER_API_KEYS: `bench:${KEY}`,
    DROVER_LOG_LEVEL: 'silent',
    DROVER_MAX_BACKLOG: '100000000',
  });
  const backend = await createBackend(config);
  const tracing = kind === 'traced' ? await startTracing({ tracing: true, exporter: 'otlp', serviceName: 'bench' }, 'bench') : undefined;
  const app = await buildApp({ config, backend, ...(tracing ? { tracer: tracing.tracer } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
}

interface Figures {
  rps: number;
  p99: number;
  non2xx: number;
  /** CPU time per request (µs) of the server process and of Redis, when they could be read. */
  serverUs?: number;
  redisUs?: number;
  /** CPU per request of the load generator (autocannon, in this process). */
  clientUs?: number;
}

async function main(): Promise<void> {
  const own = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
  const redisUrl = process.env['DROVER_BENCH_REDIS_URL'] ?? own!.url;
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const runs = Number(values.runs);
  const results: Record<'baseline' | 'drover' | 'traced', Figures[]> = { baseline: [], drover: [], traced: [] };
  const sink = values.tracing ? await otlpSink() : undefined;
  const kinds = sink ? (['baseline', 'drover', 'traced'] as const) : (['baseline', 'drover'] as const);
  try {
    for (let run = 1; run <= runs; run++) {
      for (const kind of kinds) {
        const prefix = `bench-${randomBytes(3).toString('hex')}`;
        const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--serve', kind, '--redis', redisUrl, '--prefix', prefix], {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: sink ? { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : process.env,
        });
        const port = await firstLinePort(child);
        const url = `http://127.0.0.1:${port}/v1/tasks`;
        // Warm up JIT and connection pools before measuring.
        await load(url, connections, 2);
        const cpu0 = await cpuNow(child.pid!, redisUrl);
        const client0 = process.cpuUsage();
        const r = await load(url, connections, duration);
        const client = process.cpuUsage(client0);
        const cpu1 = await cpuNow(child.pid!, redisUrl);
        const total = r.rps * duration;
        r.clientUs = (client.user + client.system) / total;
        if (cpu0.server !== undefined && cpu1.server !== undefined) r.serverUs = ((cpu1.server - cpu0.server) * 1e6) / total;
        r.redisUs = ((cpu1.redis - cpu0.redis) * 1e6) / total;
        child.kill('SIGKILL');
        await once(child, 'exit');
        results[kind].push(r);
        const cpu = `CPU/req: server ${r.serverUs?.toFixed(1) ?? '?'} µs, redis ${r.redisUs?.toFixed(1)} µs, autocannon ${r.clientUs?.toFixed(1)} µs`;
        console.log(`run ${run} ${kind.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(1).padStart(6)} ms  non-2xx ${r.non2xx}  ${cpu}`);
        // Leave the next run (and a Redis given by DROVER_BENCH_REDIS_URL) without this run's keys.
        await deleteKeys(redisUrl, prefix);
      }
    }
  } finally {
    await own?.stop();
    sink?.server.close();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = (rs: Figures[]) => ({
    rps: med(rs.map((r) => r.rps)),
    p99: med(rs.map((r) => r.p99)),
    serverUs: med(rs.map((r) => r.serverUs ?? Number.NaN)),
    redisUs: med(rs.map((r) => r.redisUs ?? Number.NaN)),
    clientUs: med(rs.map((r) => r.clientUs ?? Number.NaN)),
  });
  const b = summary(results.baseline);
  const d = summary(results.drover);
  console.log('');
  console.log(`POST /v1/tasks, ${connections} connections, ${duration} s, median of ${runs} runs`);
  console.log(`  baseline (Fastify + queue.add): ${b.rps.toFixed(0)} req/s, p99 ${b.p99.toFixed(1)} ms`);
  console.log(`  drover (orchestrator, bullmq):  ${d.rps.toFixed(0)} req/s, p99 ${d.p99.toFixed(1)} ms`);
  console.log(`  throughput ratio drover/baseline: ${(d.rps / b.rps).toFixed(2)}   p99 ratio: ${(d.p99 / b.p99).toFixed(2)}`);
  console.log(`  CPU per request, baseline: server ${b.serverUs.toFixed(1)} µs + redis ${b.redisUs.toFixed(1)} µs (autocannon ${b.clientUs.toFixed(1)} µs)`);
  console.log(`  CPU per request, drover:   server ${d.serverUs.toFixed(1)} µs + redis ${d.redisUs.toFixed(1)} µs (autocannon ${d.clientUs.toFixed(1)} µs)`);
  if (sink) {
    const t = summary(results.traced);
    console.log(`  drover, tracing on:             ${t.rps.toFixed(0)} req/s, p99 ${t.p99.toFixed(1)} ms; on/off throughput ${(t.rps / d.rps).toFixed(2)}, server CPU ${t.serverUs.toFixed(1)} µs/req; spans received ${sink.spans()}`);
  }
  const bad = [...results.baseline, ...results.drover, ...results.traced].reduce((n, r) => n + r.non2xx, 0);
  if (bad > 0) console.log(`  WARNING: ${bad} non-2xx answers`);
}


/** CPU seconds used so far by the server process (from /proc; Linux only) and by Redis (INFO cpu). */
async function cpuNow(pid: number, redisUrl: string): Promise<{ server?: number; redis: number }> {
  let server: number | undefined;
  try {
    // Fields 14 and 15 of /proc/<pid>/stat: user and system time in clock ticks (100 per second).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    server = (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    server = undefined;
  }
  const redis = new Redis(redisUrl);
  try {
    return { server, redis: await redisCpuSeconds(redis) };
  } finally {
    redis.disconnect();
  }
}

async function firstLinePort(child: ChildProcess): Promise<number> {
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) {
    try {
      return (JSON.parse(line) as { port: number }).port;
    } catch {
      // not the port line
    }
  }
  throw new Error('server exited before printing its port');
}

async function load(url: string, connections: number, duration: number): Promise<Figures> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: BODY,
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}
