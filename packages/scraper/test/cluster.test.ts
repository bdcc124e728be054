import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { html, TargetServer } from './fixtures/target-server.js';
import { ZenrowsFake } from './fixtures/zenrows-fake.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const WORKER = new URL('./fixtures/cluster-worker.ts', import.meta.url).pathname;

interface Summary {
  ok: number;
  errors: Record<string, number>;
}

/** Starts `n` worker processes, waits until all are ready, releases them together, collects summaries. */
async function runCluster(n: number, env: Record<string, string>, children: ChildProcess[]): Promise<Summary[]> {
  const procs = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', WORKER], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
    const summary = new Promise<Summary>((resolve, reject) => {
      lines.on('line', (l) => {
        if (l.startsWith('{')) resolve(JSON.parse(l) as Summary);
      });
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
    });
    return { child, ready, summary };
  });
  await Promise.all(procs.map((p) => p.ready));
  for (const p of procs) p.child.stdin!.write('go\n');
  return Promise.all(procs.map((p) => p.summary));
}

describe('cluster-wide limits across 3 worker processes sharing one Redis', () => {
  let target: TargetServer;
  let fake: ZenrowsFake;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    target = await TargetServer.start({ '/rate': (_req, res) => html(res, '<title>r</title><p>ok</p>') });
    fake = await ZenrowsFake.start({ concurrencyLimit: 2 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await fake.close();
    await target.close();
  });

  it('the per-domain rate never exceeds the limit and uses at least 95% of it', async () => {
    // 30 per 3 s over 6 s: long windows keep the 300 ms jitter allowance small next to them.
    const limit = 30;
    const windowMs = 3000;
    const measureMs = 6000;
    const summaries = await runCluster(
      3,
      {
        TEST_REDIS_URL: testRedisUrl(),
        TEST_PREFIX: uniqueName('cluster'),
        TEST_URL: target.url('/rate'),
        TEST_WARM_URL: target.url('/rate', '127.0.0.1'),
        TEST_LOOPS: '4',
        TEST_RUN_MS: String(measureMs + 1500),
        DROVER_SCRAPER_ALLOW_HOSTS: `localhost:${target.port},127.0.0.1:${target.port}`,
        DROVER_SCRAPER_DOMAIN_RATE_PER_MIN: String(limit),
        DROVER_SCRAPER_RATE_WINDOW_MS: String(windowMs),
      },
      children,
    );
    const hits = target.hits.filter((h) => h.path === '/rate' && h.headers.host === `localhost:${target.port}`).map((h) => h.at);
    expect(summaries.every((s) => s.ok > 0)).toBe(true);
    // Server-side receive times trail the limiter's admission times (on Redis' clock) by the
    // time a process takes from admission to writing the request — usually a few ms, but up to a
    // few hundred on a loaded two-core machine. Windows are therefore measured 300 ms short: an
    // admission-time window of W holds at most `limit`, and a delay under 300 ms cannot pull an
    // extra request into a (W - 300 ms) receive-time window.
    const slack = 300;
    const t0 = hits[0]!;
    const counted = hits.filter((t) => t < t0 + measureMs - slack).length;
    const maxIn = (span: number) => Math.max(...hits.map((from) => hits.filter((t) => t >= from && t < from + span).length));
    const maxInAnyWindow = maxIn(windowMs - slack);
    const allowed = limit * (measureMs / windowMs);
    console.log(
      `rate: ${counted} requests in the first ${measureMs - slack} ms (limit ${allowed} per ${measureMs} ms), max in any ${windowMs - slack} ms ${maxInAnyWindow}/${limit}, per process ${summaries.map((s) => s.ok).join('/')}`,
    );
    expect(maxInAnyWindow).toBeLessThanOrEqual(limit);
    expect(counted).toBeLessThanOrEqual(allowed);
    expect(counted).toBeGreaterThanOrEqual(Math.ceil(allowed * 0.95));
  });

  it('the ZenRows semaphore never lets more than its size run at once', async () => {
    fake.delayMs = 80;
    const summaries = await runCluster(
      3,
      {
        TEST_REDIS_URL: testRedisUrl(),
        TEST_PREFIX: uniqueName('cluster'),
        TEST_URL: 'http://shop.example/product',
        TEST_MODE: 'zenrows',
        TEST_LOOPS: '4',
        TEST_ITERATIONS: '3',
        TEST_RUN_MS: '20000',
        DROVER_ZENROWS_API_KEY: fake.apiKey,
        DROVER_ZENROWS_URL: fake.baseUrl,
        DROVER_ZENROWS_CONCURRENCY: '2',
        DROVER_SCRAPER_DOMAIN_RATE_PER_MIN: '100000',
      },
      children,
    );
    const total = summaries.reduce((n, s) => n + s.ok, 0);
    console.log(`semaphore: ${total} ZenRows requests, max in flight ${fake.maxInflight}/2, errors ${JSON.stringify(summaries.map((s) => s.errors))}`);
    expect(total).toBe(36);
    expect(fake.maxInflight).toBeLessThanOrEqual(2);
    expect(fake.maxInflight).toBe(2);
    // The fake answers AUTH006 (429) past 2 in flight; none were needed.
    expect(fake.requests.length).toBe(36);
  });
});
