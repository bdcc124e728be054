import { type Backend, MemoryBackend, type WorkerInfo } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueSignalCache } from '../src/queue-signal-cache.js';
import { type Fixture, jsonA, startApp } from './app-fixture.js';

const worker = (id: string, queues: string[], concurrency: number, busy: number, draining = false): WorkerInfo => ({
  id,
  hostname: 'h',
  pid: 1,
  queues,
  taskTypes: ['echo'],
  concurrency,
  busy,
  startedAt: new Date().toISOString(),
  lastSeenAt: new Date().toISOString(),
  draining,
});

/** The value of one series in Prometheus text, found by name and queue label. */
function sample(text: string, name: string, queue: string, extra = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`queue="${queue}"`) && l.includes(extra));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the queue signal on /metrics', () => {
  let f: Fixture;
  afterEach(async () => {
    await f?.close();
  });

  it('exports backlog, depth by state, oldest age, and the workers, capacity and busy slots per queue', async () => {
    f = await startApp({ env: { DROVER_METRICS_CACHE_MS: '0' } });
    await f.backend.heartbeat(worker('w1', ['general'], 5, 2), 60_000);
    await f.backend.heartbeat(worker('w2', ['general', 'coding'], 3, 1), 60_000);
    await f.backend.heartbeat(worker('w3', ['general'], 8, 0, true), 60_000); // draining: not counted
    await f.backend.pause('general');
    for (const payload of ['{"type":"echo"}', '{"type":"echo"}', '{"type":"echo","delayMs":60000}']) {
      expect((await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload })).statusCode).toBe(201);
    }
    const canceled = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: '{"type":"echo"}' })).json().id;
    await f.app.inject({ method: 'POST', url: `/v1/tasks/${canceled}/cancel`, headers: jsonA });
    await new Promise((r) => setTimeout(r, 1100));
    const text = (await f.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'drover_queue_backlog', 'general')).toBe(2); // delayed and canceled do not count
    expect(sample(text, 'drover_queue_depth', 'general', 'state="delayed"')).toBe(1);
    expect(sample(text, 'drover_queue_depth', 'general', 'state="canceled"')).toBe(1);
    expect(sample(text, 'drover_queue_depth', 'general', 'state="failed"')).toBe(0);
    expect(sample(text, 'drover_queue_oldest_age_seconds', 'general')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'drover_queue_oldest_age_seconds', 'coding')).toBe(0);
    expect(sample(text, 'drover_queue_workers', 'general')).toBe(2);
    expect(sample(text, 'drover_queue_capacity', 'general')).toBe(8);
    expect(sample(text, 'drover_queue_busy_slots', 'general')).toBe(3);
    expect(sample(text, 'drover_queue_workers', 'coding')).toBe(1);
    expect(sample(text, 'drover_queue_capacity', 'coding')).toBe(3);
    expect(sample(text, 'drover_queue_workers', 'analysis')).toBe(0);
    expect(sample(text, 'drover_queue_paused', 'general')).toBe(1);
  });

  it('exports the agent cap (used and limit), and never a backlog above it: more workers would not run those tasks sooner', async () => {
    f = await startApp({ env: { DROVER_METRICS_CACHE_MS: '0', DROVER_MAX_AGENTS: '3' } });
    await f.backend.pause('general');
    const payload = JSON.stringify({ tasks: Array.from({ length: 7 }, () => ({ type: 'echo' })) });
    expect((await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload })).statusCode).toBe(201);
    expect(await f.backend.agentPermits.acquire('worker-1', 2, 3, 60_000)).toBe(2);
    const text = (await f.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'drover_queue_depth', 'general', 'state="queued"')).toBe(7);
    expect(sample(text, 'drover_queue_backlog', 'general')).toBe(3);
    expect(text).toMatch(/^drover_agents_used(\{[^}]*\})? 2$/m);
    expect(text).toMatch(/^drover_agents_limit(\{[^}]*\})? 3$/m);
    expect(text).toContain('never exceeds DROVER_MAX_AGENTS');
  });

  it('reads the backend once for concurrent scrapes and within its max age, and again after it', async () => {
    const backend = new MemoryBackend();
    let reads = 0;
    const counting = new Proxy(backend, {
      get(target, prop, receiver) {
        if (prop === 'workers') reads++;
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Backend;
    let now = 1_000;
    const cache = new QueueSignalCache(counting, ['general', 'coding'], 1000, () => now);
    const [a, b] = await Promise.all([cache.read(), cache.read()]);
    expect(a).toBe(b);
    expect(reads).toBe(1);
    now += 999;
    await cache.read();
    expect(reads).toBe(1);
    now += 1;
    await backend.submit({ type: 'echo', queue: 'general', tenant: 't', input: null, priority: 10, delayMs: 0, maxAttempts: 1, backoffMs: 0, timeoutMs: 1000, idempotencyKey: null, parentId: null });
    const fresh = await cache.read();
    expect(reads).toBe(2);
    expect(fresh.get('general')?.counts.queued).toBe(1);
    await backend.close();
  });
});
