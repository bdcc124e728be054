import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, KEY_A, authA, startApp, until } from './app-fixture.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('on a real port (127.0.0.1)', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  async function listen(env: Record<string, string> = {}): Promise<string> {
    f = await startApp({ env });
    return f.app.listen({ host: '127.0.0.1', port: 0 });
  }

  it('submits and long-polls over HTTP', async () => {
    const url = await listen();
    await f!.backend.consume('general', { concurrency: 1, handler: async (task) => ({ got: task.input }) });
    const res = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { ...authA, 'content-type': 'application/json', 'idempotency-key': 'real-1' },
      body: JSON.stringify({ type: 'echo', input: 'hi' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const done = await fetch(`${url}/v1/tasks/${id}?wait=10000`, { headers: authA });
    expect(await done.json()).toMatchObject({ id, status: 'succeeded', output: { got: 'hi' } });
    const missing = await fetch(`${url}/v1/tasks`, { method: 'POST' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers a request Node cannot parse with problem+json', async () => {
    const url = new URL(await listen());
    const raw = await new Promise<string>((done, fail) => {
      const socket = connect(Number(url.port), '127.0.0.1', () => socket.write('GET /v1/tasks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => {
        out += d.toString();
      });
      socket.on('end', () => done(out));
      socket.on('error', fail);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'DROVER_ERR_BAD_REQUEST' });
  });

  it('a client that leaves a long-poll frees its waiter', async () => {
    const url = await listen({ DROVER_WAIT_MAX_MS: '600000' });
    const res = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { ...authA, 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    const { id } = (await res.json()) as { id: string };
    const abort = new AbortController();
    const pending = fetch(`${url}/v1/tasks/${id}?wait=600000`, { headers: authA, signal: abort.signal }).catch((err: unknown) => err);
    await until(() => f!.app.drover.waiter.size === 1, 'the long-poll to register');
    abort.abort();
    await pending;
    await until(() => f!.app.drover.waiter.size === 0, 'the waiter to be released');
  });
});

describe('main.ts', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  function start(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const c = spawn(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', 'packages/orchestrator/src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let out = '';
    c.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    return { child: c, output: () => out, exited };
  }

  it('exits 2 with the variable named when the configuration is bad', async () => {
    const p = start({ DROVER_PORT: 'eighty' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('DROVER_PORT');
  }, 30_000);

  it('refuses to run alone on the in-memory backend, where no worker could reach its tasks', async () => {
    const p = start({ DROVER_PORT: '0' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('DROVER_REDIS_URL');
    expect(p.output()).toContain('npm start');
  }, 30_000);

  it('serves, reports not-ready on SIGTERM for DROVER_DRAIN_DELAY_MS, then exits 0', async () => {
    const p = start({
      DROVER_DRAIN_DELAY_MS: '1500',
      DROVER_PORT: '0',
      DROVER_HOST: '127.0.0.1',
      DROVER_API_KEYS: `a:${KEY_A}`,
      DROVER_LOG_LEVEL: 'info',
      DROVER_REDIS_URL: testRedisUrl(),
      DROVER_PREFIX: uniqueName('main'),
    });
    await until(() => /listening on (http:\/\/\S+?)"/.test(p.output()) || p.child.exitCode !== null, 'the listening log line', 25_000);
    const url = /listening on (http:\/\/\S+?)"/.exec(p.output())?.[1];
    expect(url, p.output()).toBeDefined();
    expect(p.output()).not.toContain(KEY_A);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const submit = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { ...authA, 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    expect(submit.status).toBe(201);
    p.child.kill('SIGTERM');
    await until(() => p.output().includes('draining'), 'the drain to start');
    expect(p.output()).toContain('"drainDelayMs":1500');
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { code: string }).code).toBe('DROVER_ERR_SHUTTING_DOWN');
    // Still serving during the delay: requests in the window are answered, not refused.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await p.exited).toBe(0);
    expect(p.output()).not.toContain(KEY_A);
  }, 40_000);
});
