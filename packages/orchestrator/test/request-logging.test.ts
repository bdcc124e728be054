import { Writable } from 'node:stream';
import { type Backend, MemoryBackend, Registry, createLogger, loadConfig } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { KEY_A, jsonA } from './app-fixture.js';

/** What the README promises for DROVER_LOG_LEVEL: per-request lines only at debug and trace. */
describe('request logging', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function appLoggingAt(level: 'info' | 'debug', wrap?: (b: MemoryBackend) => Backend) {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({ DROVER_API_KEYS: `a:${KEY_A}`, DROVER_LOG_LEVEL: level });
    const backend = new MemoryBackend();
    const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level, destination: sink });
    const app = await buildApp({ config, backend: wrap ? wrap(backend) : backend, logger, registry: new Registry() });
    await app.ready();
    closers.push(async () => {
      await app.close();
      await backend.close();
    });
    return { app, lines };
  }

  const submit = { method: 'POST' as const, url: '/v1/tasks', headers: jsonA, payload: { type: 'echo', input: { n: 1 } } };

  it('at info, answering a request writes no log line', async () => {
    const { app, lines } = await appLoggingAt('info');
    expect((await app.inject(submit)).statusCode).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/v1/tasks/nope', headers: jsonA })).statusCode).toBe(404);
    expect(lines.filter((l) => typeof l.msg === 'string' && /request/.test(l.msg))).toEqual([]);
  });

  it('at debug, each request logs one line received and one answered, with its id', async () => {
    const { app, lines } = await appLoggingAt('debug');
    expect((await app.inject(submit)).statusCode).toBe(201);
    const incoming = lines.filter((l) => l.msg === 'incoming request');
    const completed = lines.filter((l) => l.msg === 'request completed');
    expect(incoming).toHaveLength(1);
    expect(completed).toHaveLength(1);
    expect(completed[0]?.reqId).toBe(incoming[0]?.reqId);
    expect(JSON.stringify(lines)).not.toContain(KEY_A);
  });

  it('at info, a request that fails on the server side is still logged as an error', async () => {
    const failing = (b: MemoryBackend): Backend =>
      Object.assign(Object.create(b) as Backend, {
        submit: async () => {
          throw new Error('connection reset');
        },
      });
    const { app, lines } = await appLoggingAt('info', failing);
    expect((await app.inject(submit)).statusCode).toBe(503);
    const failed = lines.filter((l) => l.msg === 'request failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.level).toBe(50);
    expect(failed[0]?.reqId).toEqual(expect.any(String));
  });
});
