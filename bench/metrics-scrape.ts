/**
 * GET /metrics latency with 50 queues on the bullmq backend: what Prometheus, the HPA adapter
 * and KEDA see when they scrape an orchestrator. Target: p99 under 25 ms with every scrape reading
 * the backend (DROVER_METRICS_CACHE_MS=0); with the default cache (1000 ms) most scrapes reuse a
 * read. Prints p50/p99 of sequential scrapes for both, and the uncached p99 against the target.
 *
 *   node --conditions=@drover/source --import tsx bench/metrics-scrape.ts [--queues 50] [--scrapes 400] [--tasks 20]
 *
 * Uses DROVER_BENCH_REDIS_URL when set, else a private redis-server on a free port.
 */
import { parseArgs } from 'node:util';
import { buildApp } from '@drover/orchestrator';
import { type Backend, Registry, createBackend, createLogger, loadConfig } from '@drover/shared';
import { RedisServer } from '@drover/testkit';

const { values } = parseArgs({ options: { queues: { type: 'string', default: '50' }, scrapes: { type: 'string', default: '400' }, tasks: { type: 'string', default: '20' } } });
const QUEUES = Array.from({ length: Number(values.queues) }, (_, i) => `q${i}`);
const SCRAPES = Number(values.scrapes);
const TASKS = Number(values.tasks);

const redis = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
const redisUrl = process.env['DROVER_BENCH_REDIS_URL'] ?? redis!.url;
const prefix = `bench-metrics-${Date.now()}`;

async function measure(cacheMs: number, seed: boolean): Promise<{ p50: number; p99: number; max: number }> {
  const config = loadConfig({
    DROVER_REDIS_URL: redisUrl,
    DROVER_PREFIX: prefix,
    DROVER_QUEUES: QUEUES.join(','),
    DROVER_AUTH: 'false',
    DROVER_LOG_LEVEL: 'silent',
    DROVER_METRICS_CACHE_MS: String(cacheMs),
  });
  const backend: Backend = await createBackend(config);
  if (seed) {
    // Some tasks in every queue, in several states, and a few workers in the registry.
    for (const queue of QUEUES) {
      const base = { type: 'echo', queue, tenant: 'bench', input: { queue }, priority: 10, maxAttempts: 1, backoffMs: 0, timeoutMs: 60_000, idempotencyKey: null, parentId: null };
      await backend.submitMany(Array.from({ length: TASKS }, (_, i) => ({ ...base, delayMs: i % 4 === 0 ? 600_000 : 0 })));
    }
    for (let w = 0; w < 10; w++) {
      await backend.heartbeat({ id: `w${w}`, hostname: 'bench', pid: w, queues: QUEUES.slice(w * 5, w * 5 + 5), taskTypes: ['echo'], concurrency: 5, busy: 1, startedAt: new Date().toISOString(), lastSeenAt: new Date().toISOString(), draining: false }, 600_000);
    }
  }
  const logger = createLogger({ service: 'bench', instance: 'b', region: 'local', level: 'silent' });
  const app = await buildApp({ config, backend, logger, registry: new Registry() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  for (let i = 0; i < 20; i++) await (await fetch(`${url}/metrics`)).text(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/metrics`);
    const text = await res.text();
    ms.push(performance.now() - t0);
    if (res.status !== 200 || !text.includes('drover_queue_backlog')) throw new Error(`scrape failed: ${res.status}`);
    // Prometheus scrapes on an interval; leave a little room so the cache can age.
    if (cacheMs > 0) await new Promise((r) => setTimeout(r, 5));
  }
  await app.close();
  await backend.close();
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1]! };
}

const uncached = await measure(0, true);
const cached = await measure(1000, false);
await redis?.stop();
const fmt = (r: { p50: number; p99: number; max: number }) => `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(2)} ms`;
console.log(`GET /metrics, ${QUEUES.length} queues × ${TASKS} tasks, bullmq, ${SCRAPES} sequential scrapes`);
console.log(`  every scrape reads the backend (DROVER_METRICS_CACHE_MS=0): ${fmt(uncached)}`);
console.log(`  default cache (1000 ms):                                  ${fmt(cached)}`);
console.log(`  uncached p99 / target 25 ms: ${(uncached.p99 / 25).toFixed(2)} (≤ 1.00 meets it)`);
