import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RedisServer, freePort, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { ServiceProcess, waitReady } from '../support/service-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PREFIX = 'bk';

/** Runs `drover <args>` as a user would (`npm run drover -- …`), returning its exit code and output. */
function drover(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', 'packages/cli/src/drover.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => done({ code, out }));
  });
}

/**
 * The backup/restore round trip on the bullmq backend, with real processes: tasks finished,
 * queued and delayed at backup time; the snapshot restored into another, empty Redis; there,
 * finished tasks keep their results and the others run.
 */
describe('drover backup / drover restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-backup-'));
  const file = join(dir, 'snapshot.ndjson');
  const key = `bk-${randomBytes(12).toString('hex')}`;
  let source: RedisServer;
  let target: RedisServer;
  const services: ServiceProcess[] = [];

  const envFor = (redisUrl: string, port: number): Record<string, string> => ({
    DROVER_REDIS_URL: redisUrl,
    DROVER_PREFIX: PREFIX,
    DROVER_API_KEYS: `bk:${key}`,
    DROVER_LOG_LEVEL: 'warn',
    DROVER_HOST: '127.0.0.1',
    DROVER_PORT: String(port),
    DROVER_WORKER_HOST: '127.0.0.1',
    DROVER_WORKER_CONCURRENCY: '8',
  });

  async function startStack(redisUrl: string, withWorker: boolean): Promise<{ api: ApiClient; orchestrator: ServiceProcess; worker?: ServiceProcess }> {
    const port = await freePort();
    const env = envFor(redisUrl, port);
    const orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', env);
    services.push(orchestrator);
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    let worker: ServiceProcess | undefined;
    if (withWorker) {
      const wport = await freePort();
      worker = ServiceProcess.start('worker', 'packages/worker/src/main.ts', { ...env, DROVER_WORKER_PORT: String(wport) });
      services.push(worker);
      await waitReady(`http://127.0.0.1:${wport}/readyz`, worker);
    }
    return { api: new ApiClient(`http://127.0.0.1:${port}`, key), orchestrator, worker };
  }

  beforeAll(async () => {
    source = await RedisServer.start();
    target = await RedisServer.start();
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await source?.stop();
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores finished tasks with their results, and queued and delayed ones run afterwards', async () => {
    // Before: 5 finished, 20 queued (no worker running), 2 delayed.
    const before = await startStack(source.url, true);
    const finished: Array<{ id: string; output: unknown }> = [];
    for (let i = 0; i < 5; i++) {
      const r = await before.api.request('POST', '/v1/tasks?wait=10000', { type: 'echo', input: { n: i, done: true } });
      expect(r.body.status, JSON.stringify(r.body)).toBe('succeeded');
      finished.push({ id: r.body.id, output: r.body.output });
    }
    await before.worker!.stop();
    const queued = (await before.api.request('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 20 }, (_, n) => ({ type: 'echo', input: { n, queued: true } })) })).body;
    const delayed = (await before.api.request('POST', '/v1/tasks/batch', { tasks: [1, 2].map((n) => ({ type: 'echo', input: { n, delayed: true }, delayMs: 3000 })) })).body;
    const waiting = [...queued.tasks, ...delayed.tasks].map((t: { id: string }) => t.id);
    expect(waiting).toHaveLength(22);

    const taken = await drover(['backup', '--out', file], { DROVER_REDIS_URL: source.url, DROVER_PREFIX: PREFIX });
    expect(taken.code, taken.out).toBe(0);
    expect(taken.out).toMatch(/keys under "bk:" written to .*one instant; writes paused \d+ ms/);
    await before.orchestrator.stop();

    const probe = new Redis(target.url);
    try {
      // A damaged file is refused before anything is written.
      const lines = readFileSync(file, 'utf8').split('\n');
      const edited = join(dir, 'edited.ndjson');
      const middle = Math.floor(lines.length / 2);
      writeFileSync(edited, [...lines.slice(0, middle), lines[middle]!.replace(/"t":-?\d+/, '"t":99'), ...lines.slice(middle + 1)].join('\n'));
      const truncated = join(dir, 'truncated.ndjson');
      writeFileSync(truncated, lines.slice(0, middle).join('\n'));
      const r1 = await drover(['restore', '--in', edited], { DROVER_REDIS_URL: target.url, DROVER_PREFIX: PREFIX });
      expect(r1.code, r1.out).toBe(2);
      expect(r1.out).toMatch(/checksum does not match/);
      const r2 = await drover(['restore', '--in', truncated], { DROVER_REDIS_URL: target.url, DROVER_PREFIX: PREFIX });
      expect(r2.code, r2.out).toBe(2);
      expect(r2.out).toMatch(/truncated/);
      const r3 = await drover(['restore', '--in', file], { DROVER_REDIS_URL: target.url, DROVER_PREFIX: 'other' });
      expect(r3.code, r3.out).toBe(2);
      expect(r3.out).toMatch(/holds prefix "bk"/);
      expect(await probe.dbsize()).toBe(0);

      const restored = await drover(['restore', '--in', file], { DROVER_REDIS_URL: target.url, DROVER_PREFIX: PREFIX });
      expect(restored.code, restored.out).toBe(0);
      expect(await probe.dbsize()).toBeGreaterThan(0);
      // Restoring twice would mix two stores: refused unless --force.
      const again = await drover(['restore', '--in', file], { DROVER_REDIS_URL: target.url, DROVER_PREFIX: PREFIX });
      expect(again.code, again.out).toBe(2);
      expect(again.out).toMatch(/already holds keys/);
    } finally {
      probe.disconnect();
    }

    // After: the restored store serves the finished results, and a worker runs the rest.
    const after = await startStack(target.url, true);
    for (const f of finished) {
      const r = await after.api.request('GET', `/v1/tasks/${f.id}`);
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('succeeded');
      expect(r.body.output).toEqual(f.output);
    }
    for (const id of waiting) {
      const r = await after.api.request('GET', `/v1/tasks/${id}?wait=15000`);
      expect(r.body.status, JSON.stringify(r.body)).toBe('succeeded');
      expect(r.body.output).toEqual(r.body.input);
    }
    await waitUntil(async () => (await after.api.request('GET', '/v1/queues')).body.queues.find((q: { name: string }) => q.name === 'general')?.succeeded === 27, 'all 27 tasks succeeded in the queue counts', 10_000);
  }, 120_000);
});
