import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp } from '@drover/orchestrator';
import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import { type Worker, builtinTasks, createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The `drover` API commands as a user runs them: the real CLI in a process of its own (stdout and
 * stderr are pipes, as in a script), against a real orchestrator on a loopback port.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const KEY = 'cli-key-0123456789abcdef';
const ADMIN_KEY = 'cli-admin-key-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function drover(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--conditions=@drover/source', '--import', 'tsx', 'packages/cli/src/drover.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('drover API commands', () => {
  let app: FastifyInstance;
  let backend: MemoryBackend;
  let worker: Worker;
  let env: Record<string, string>;

  beforeAll(async () => {
    const steps = defineTask({
      name: 'steps',
      queue: 'general',
      input: Type.Object({ ms: Type.Integer({ minimum: 0 }) }),
      run: async (input, ctx) => {
        for (const pct of [25, 50, 75, 100]) {
          await new Promise((r) => setTimeout(r, input.ms));
          await ctx.progress(pct);
        }
        return { done: true };
      },
    });
    const broken = defineTask({
      name: 'broken',
      queue: 'general',
      input: Type.Object({}),
      maxAttempts: 1,
      run: async () => {
        throw new Error('broken on purpose');
      },
    });
    const config = loadConfig({ DROVER_API_KEYS: `cli:${KEY},ops:${ADMIN_KEY}`, DROVER_ADMIN_TENANTS: 'ops', DROVER_LOG_LEVEL: 'silent' });
    backend = new MemoryBackend();
    app = await buildApp({ config, backend, logger: createLogger({ service: 'cli-test', instance: 't', region: 'local', level: 'silent' }) });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = createWorker({ backend, tasks: [steps, broken, ...builtinTasks()], concurrency: 4, heartbeatMs: 200 });
    await worker.start();
    env = { DROVER_URL: url, DROVER_KEY: KEY };
  });

  afterAll(async () => {
    await worker?.drain(0);
    await app?.close();
    await backend?.close();
  });

  it('submit --wait follows the progress to the end and prints the finished task', async () => {
    const r = await drover(['submit', 'steps', '{"ms":150}', '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/status:\s+succeeded/);
    expect(r.stdout).toContain('"done": true');
    // Not a terminal: one line per change, no control characters.
    expect(r.stderr).not.toContain('\x1b');
    const shown = [...r.stderr.matchAll(/\]\s+(\d+)%/g)].map((m) => Number(m[1]));
    expect(shown).toEqual(expect.arrayContaining([25, 50, 75]));
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
  }, 40_000);

  it('--json prints the API record; get and list find the task', async () => {
    const submitted = await drover(['submit', 'echo', '{"n":7}', '--json'], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const task = JSON.parse(submitted.stdout) as { id: string; type: string };
    expect(task.type).toBe('echo');
    const got = await drover(['get', task.id, '--json'], env);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: task.id, input: { n: 7 } });
    const listed = await drover(['list', '--type', 'echo'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+QUEUE\s+STATUS/);
    expect(listed.stdout).toContain(task.id);
  }, 40_000);

  it('wait exits 124 while a task still runs, and 1 once it is canceled', async () => {
    const id = JSON.parse((await drover(['submit', 'sleep', '{"ms":60000}', '--json'], env)).stdout).id as string;
    const waited = await drover(['wait', id, '--timeout', '500'], env);
    expect(waited.code).toBe(124);
    expect(waited.stdout).toMatch(/status:\s+(queued|running)/);
    expect((await drover(['cancel', id], env)).code).toBe(0);
    const after = await drover(['wait', id], env);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/status:\s+canceled/);
  }, 60_000);

  it('API errors are one line with the code, bad usage exits 2, and no stack trace is printed', async () => {
    const unknown = await drover(['submit', 'no-such-type', '{}'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^drover submit: DROVER_ERR_UNKNOWN_TASK_TYPE \(HTTP 400\)/);
    const missing = await drover(['get', 'general.missing'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('DROVER_ERR_TASK_NOT_FOUND');
    const badJson = await drover(['submit', 'echo', '{nope'], env);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('INPUT_JSON is not valid JSON');
    const wrongKey = await drover(['list'], { ...env, DROVER_KEY: 'wrong-key-0123456789abc' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('DROVER_ERR_UNAUTHENTICATED');
    expect(wrongKey.stderr).not.toContain('wrong-key-0123456789abc');
    const noKey = await drover(['list'], { DROVER_URL: env['DROVER_URL']! });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('No API key');
    for (const r of [unknown, missing, badJson, wrongKey, noKey]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('takes the URL and key from a profile file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-cli-'));
    const file = join(dir, 'profiles.json');
    writeFileSync(file, JSON.stringify({ ops: { url: env['DROVER_URL'], key: ADMIN_KEY } }));
    const paused = await drover(['queues', 'pause', 'analysis', '--profile', 'ops'], { DROVER_PROFILE_FILE: file });
    expect(paused.code, paused.stderr).toBe(0);
    const queues = await drover(['queues', '--json'], { DROVER_PROFILE_FILE: file, DROVER_PROFILE: 'ops' });
    const analysis = (JSON.parse(queues.stdout) as { queues: Array<{ name: string; paused: boolean }> }).queues.find((q) => q.name === 'analysis');
    expect(analysis?.paused).toBe(true);
    expect((await drover(['queues', 'resume', 'analysis', '--profile', 'ops'], { DROVER_PROFILE_FILE: file })).code).toBe(0);
    // A non-admin is refused, with the API's code.
    const refused = await drover(['queues', 'pause', 'analysis'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('DROVER_ERR_FORBIDDEN');
    const nope = await drover(['list', '--profile', 'nope'], { DROVER_PROFILE_FILE: file });
    expect(nope.code).toBe(2);
    expect(nope.stderr).toContain('No profile "nope"');
  }, 60_000);

  it('retries a dead letter and manages schedules', async () => {
    const failed = await drover(['submit', 'broken', '{}', '--wait'], env);
    expect(failed.code).toBe(1);
    const deadId = (failed.stdout.match(/^id:\s+(\S+)/m) ?? [])[1]!;
    const listed = await drover(['dead-letters'], env);
    expect(listed.stdout).toContain(deadId);
    const retried = await drover(['dead-letters', 'retry', deadId], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^${deadId.replace(/\./g, '\\.')} retried as \\S+`));

    const created = await drover(['schedules', 'create', 'echo', '{"tick":true}', '--every-ms', '60000', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const schedule = JSON.parse(created.stdout) as { id: string; everyMs: number };
    expect(schedule.everyMs).toBe(60000);
    expect((await drover(['schedules'], env)).stdout).toContain(schedule.id);
    expect((await drover(['schedules', 'delete', schedule.id], env)).code).toBe(0);
    expect((await drover(['schedules', 'get', schedule.id], env)).code).toBe(1);
    const both = await drover(['schedules', 'create', 'echo', '--cron', '* * * * *', '--every-ms', '5000'], env);
    expect(both.code).toBe(2);
  }, 90_000);
});
