import { RedisServer, deleteKeys, testRedisUrl, uniqueName } from '@drover/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BullmqBackend } from '../src/backends/bullmq/bullmq-backend.js';
import { DROVER_BACKOFF } from '../src/backends/bullmq/bullmq-consumer.js';
import { toBullmqPriority } from '../src/backends/bullmq/job-record.js';
import { completeSubmit } from '../src/task.js';

/**
 * The bullmq backend writes plain jobs with its own script (add-script.ts) instead of BullMQ's
 * addStandardJob. These tests pin that the result is indistinguishable from queue.add(): same hash
 * fields, same events, same lists and marker. A BullMQ upgrade that changes its job layout fails
 * here rather than in production.
 */
describe('bullmq add script writes what queue.add writes', () => {
  let prefix: string;
  let redis: Redis;
  let backend: BullmqBackend;
  let queue: Queue;
  let queueConnection: Redis;

  beforeEach(() => {
    prefix = uniqueName('layout');
    redis = new Redis(testRedisUrl());
    backend = new BullmqBackend({ redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600 });
    queueConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue('alpha', { connection: queueConnection, prefix });
  });

  afterEach(async () => {
    await backend.close();
    await queue.close();
    await queueConnection.quit();
    await deleteKeys(testRedisUrl(), prefix);
    await redis.quit();
  });

  /**
   * A job's hash with the parts that differ by construction (id, time) replaced. The add script
   * leaves `jobId` and `timestamp` out of opts (BullMQ reads neither back); queue.add() stores
   * them, so they are dropped from its opts here and checked separately below.
   */
  async function normalizedHash(id: string): Promise<Record<string, unknown>> {
    const hash = await redis.hgetall(`${prefix}:alpha:${id}`);
    const { jobId: _id, timestamp: _t, ...opts } = JSON.parse(hash.opts ?? 'null') as Record<string, unknown>;
    return { ...hash, opts, timestamp: '<t>' };
  }

  async function events(): Promise<string[][]> {
    const entries = await redis.xrange(`${prefix}:alpha:events`, '-', '+');
    return entries.map(([, fields]) => fields);
  }

  for (const maxAttempts of [1, 3]) {
    it(`stores the same hash, events, prioritized entry and marker as queue.add() with that priority (maxAttempts ${maxAttempts})`, async () => {
      const { task } = await backend.submit(
        completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 1 }, timeoutMs: 5000, maxAttempts, backoffMs: 250 }),
      );
      const ours = await normalizedHash(task.id);
      const oursOpts = JSON.parse((await redis.hget(`${prefix}:alpha:${task.id}`, 'opts')) ?? 'null') as Record<string, unknown>;
      expect(Object.keys(oursOpts)).not.toContain('jobId');
      expect(Object.keys(oursOpts)).not.toContain('timestamp');
      const oursEvents = await events();
      const data = JSON.parse(String(ours.data)) as unknown;

      // The same job through BullMQ's own path (after ours, so the list order shows FIFO too).
      const theirsId = 'alpha.reference';
      const priority = Number(ours.priority);
      expect(priority).toBe(toBullmqPriority(10, 0)); // the first round of the top band
      await queue.add('echo', data, {
        jobId: theirsId,
        timestamp: Date.now(),
        priority,
        ...(maxAttempts > 1 ? { attempts: maxAttempts, backoff: { type: DROVER_BACKOFF, delay: 250 } } : {}),
      });
      const theirsOpts = JSON.parse((await redis.hget(`${prefix}:alpha:${theirsId}`, 'opts')) ?? 'null') as Record<string, unknown>;
      expect(theirsOpts.jobId).toBe(theirsId); // what the add script leaves out, as BullMQ stores it
      const theirs = await normalizedHash(theirsId);
      expect(ours).toEqual(theirs);
      expect(Object.keys(ours).sort()).toEqual(['data', 'delay', 'name', 'opts', 'priority', 'timestamp']);

      const all = await events();
      const theirsEvents = all.slice(oursEvents.length);
      const shape = (evs: string[][], id: string) => evs.map((f) => f.map((v) => (v === id ? '<id>' : v)));
      expect(shape(oursEvents, task.id)).toEqual(shape(theirsEvents, theirsId));
      expect(shape(oursEvents, task.id).map((f) => f[1])).toEqual(['added', 'waiting']);

      // Same priority: submission order (BullMQ's pc counter); ours was first.
      expect(await redis.zrange(`${prefix}:alpha:prioritized`, 0, -1)).toEqual([task.id, theirsId]);
      expect(await redis.llen(`${prefix}:alpha:wait`)).toBe(0);
      expect(await redis.zrange(`${prefix}:alpha:marker`, 0, -1, 'WITHSCORES')).toEqual(['0', '0']);
      expect(await redis.hget(`${prefix}:alpha:meta`, 'opts.maxLenEvents')).toBe('10000');
    });
  }

  it('gives BullMQ the id and creation time of a job without them in its opts', async () => {
    const { task } = await backend.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 1 }, timeoutMs: 5000, maxAttempts: 3 }));
    const job = await queue.getJob(task.id);
    expect(job?.id).toBe(task.id);
    expect(job?.timestamp).toBe(Date.parse(task.createdAt));
    expect(job?.opts.attempts).toBe(3);
    expect((await backend.get(task.id))?.createdAt).toBe(task.createdAt);
  });

  it('puts no marker on a paused queue, as BullMQ does', async () => {
    await backend.pause('alpha');
    await redis.del(`${prefix}:alpha:marker`);
    const { task } = await backend.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: null, timeoutMs: 5000 }));
    expect(await redis.zrange(`${prefix}:alpha:prioritized`, 0, -1)).toEqual([task.id]);
    expect(await redis.exists(`${prefix}:alpha:marker`)).toBe(0);
    expect((await backend.counts('alpha')).queued).toBe(1);
  });

  it('writes a batch with one index entry per task, tenants in turn, and leaves an existing job untouched', async () => {
    const reqs = Array.from({ length: 5 }, (_, n) =>
      completeSubmit({ type: 'echo', queue: 'alpha', tenant: n % 2 === 0 ? 'acme' : 'zeta', input: { n }, timeoutMs: 5000 }),
    );
    const results = await backend.submitMany(reqs);
    const ids = results.map((r) => r.task.id);
    expect(results.every((r) => r.created)).toBe(true);
    // Rounds: acme 0,1,2 and zeta 0,1 interleave in submission order.
    expect(await redis.zrange(`${prefix}:alpha:prioritized`, 0, -1)).toEqual(ids);
    expect(await redis.zrange(`${prefix}:_drover:index`, 0, -1)).toEqual(ids);
    expect(await redis.zrange(`${prefix}:_drover:index:tenant:acme`, 0, -1)).toEqual([ids[0], ids[2], ids[4]]);
    expect(await redis.zrange(`${prefix}:_drover:index:tenant:zeta`, 0, -1)).toEqual([ids[1], ids[3]]);

    const key = { type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 9 }, timeoutMs: 5000, idempotencyKey: 'once' };
    const first = await backend.submit(completeSubmit(key));
    const again = await backend.submit(completeSubmit(key));
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.task.id).toBe(first.task.id);
    expect(await redis.zcard(`${prefix}:alpha:prioritized`)).toBe(6);
    const dup = (await events()).filter((f) => f[1] === 'duplicated');
    expect(dup).toEqual([['event', 'duplicated', 'jobId', first.task.id]]);
  });

  it('writes a batch larger than one script call (30,000 tasks) whole and in submission order', async () => {
    const reqs = Array.from({ length: 30_000 }, (_, n) => completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n }, timeoutMs: 5000 }));
    const results = await backend.submitMany(reqs);
    const ids = results.map((r) => r.task.id);
    expect(results.every((r) => r.created)).toBe(true);
    // One tenant: a round per task, so the set keeps submission order across the script calls.
    expect(await redis.zrange(`${prefix}:alpha:prioritized`, 0, -1)).toEqual(ids);
    expect(await redis.zcard(`${prefix}:_drover:index`)).toBe(30_000);
    expect((await backend.counts('alpha')).queued).toBe(30_000);
  }, 30_000);

  it('loads the script again after Redis lost it (restart, SCRIPT FLUSH)', async () => {
    // A private server: flushing scripts on the shared one would disturb other test files.
    const server = await RedisServer.start();
    const own = new BullmqBackend({ redisUrl: server.url, prefix, queues: ['alpha'], resultTtlSeconds: 3600 });
    const probe = new Redis(server.url);
    try {
      const submit = async () => (await own.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: null, timeoutMs: 5000 }))).task.id;
      const cachedScripts = async () => Number(/number_of_cached_scripts:(\d+)/.exec(await probe.info('memory'))?.[1]);
      const first = await submit();
      expect(await cachedScripts()).toBeGreaterThan(0);
      await probe.script('FLUSH');
      expect(await cachedScripts()).toBe(0);
      const second = await submit();
      expect(await cachedScripts()).toBeGreaterThan(0);
      expect(await probe.zrange(`${prefix}:alpha:prioritized`, 0, -1)).toEqual([first, second]);
    } finally {
      await own.close();
      await probe.quit();
      await server.stop();
    }
  });
});
