import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient, DroverClientError, type DroverEvent, DroverNetworkError, DroverNotFoundError } from '../src/index.js';
import { type ScriptedServer, scriptedServer } from './http-server.js';
import { KEY_A, KEY_B, type Orchestrator, startOrchestrator, until } from './orchestrator-fixture.js';
import { TcpProxy } from './tcp-proxy.js';

const label = (e: DroverEvent) => (e.event === 'state' ? e.data.status : e.event === 'progress' ? `p${(e.data.progress as { step: number }).step}` : `log:${e.data.msg}`);

async function collect(events: AsyncIterable<DroverEvent>): Promise<DroverEvent[]> {
  const out: DroverEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('events from a real orchestrator', () => {
  let o: Orchestrator;
  let proxy: TcpProxy;
  beforeAll(async () => {
    o = await startOrchestrator();
    proxy = new TcpProxy((o.app.server.address() as AddressInfo).port);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy?.close();
    await o?.close();
  });

  it('reconnects with Last-Event-ID after the connection is cut mid-stream: no gap, no duplicate', async () => {
    const direct = o.client();
    const viaProxy = new DroverClient({ baseUrl: proxy.baseUrl, apiKey: KEY_A, retries: { attempts: 3, baseMs: 50, maxMs: 1000 } });
    const task = await direct.submit({ type: 'stepper', input: { steps: 4 } });
    const got: DroverEvent[] = [];
    const following = (async () => {
      for await (const e of viaProxy.events(task.id)) got.push(e);
    })();
    await until(() => got.length >= 2, 'queued and running');
    await o.release(1);
    await until(() => got.length >= 3, 'the first progress event');
    const lastBeforeCut = got[got.length - 1]!.id!;

    // The network goes away: open connections die and new ones are refused for a while.
    proxy.refusing = true;
    const connectionsBefore = proxy.connections;
    proxy.cut();
    await o.release(2); // steps 2 and 3 happen while nobody listens
    await until(async () => ((await direct.get(task.id)).progress as { step?: number } | null)?.step === 3, 'step 3 recorded');
    await until(() => proxy.connections > connectionsBefore, 'a reconnect attempt');
    proxy.refusing = false;
    await until(() => got.length >= 5, 'the missed events replayed');
    await o.release(1);
    await following;

    expect(got.map(label)).toEqual(['queued', 'running', 'p1', 'p2', 'p3', 'p4', 'succeeded']);
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    expect(got.every((e) => e.data.taskId === task.id)).toBe(true);
    // It really resumed: a later request carried the last id seen before the cut.
    expect(proxy.heads.some((h) => h.toLowerCase().includes(`last-event-id: ${lastBeforeCut.toLowerCase()}`))).toBe(true);
    // A fresh read of the finished task's stream has the same events, ids and all.
    const fresh = await collect(direct.events(task.id));
    expect(fresh.map((e) => e.id)).toEqual(got.map((e) => e.id));
    expect(fresh.map(label)).toEqual(got.map(label));
  });

  it('starts after lastEventId when given one', async () => {
    const c = o.client();
    const task = await c.submit({ type: 'stepper', input: { steps: 2 } });
    await o.release(2);
    await c.wait(task.id, { timeoutMs: 10_000 });
    const all = await collect(c.events(task.id));
    const rest = await collect(c.events(task.id, { lastEventId: all[1]!.id! }));
    expect(rest.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
  });

  it("follows the tenant's stream with filters until the loop breaks", async () => {
    const c = o.client();
    const controller = new AbortController();
    const seen: DroverEvent[] = [];
    const task = await c.submit({ type: 'echo', input: 'x', delayMs: 300 });
    for await (const e of c.events({ type: 'echo', status: 'succeeded' }, { signal: controller.signal })) {
      seen.push(e);
      if (e.data.taskId === task.id) break;
    }
    expect(seen.every((e) => e.event === 'state' && e.data.status === 'succeeded')).toBe(true);
    expect(seen.map((e) => e.data.taskId)).toContain(task.id);
  });

  it("answers another tenant's task with a typed 404 and does not reconnect", async () => {
    const task = await o.client().submit({ type: 'echo', input: 1 });
    const before = proxy.connections;
    const b = new DroverClient({ baseUrl: proxy.baseUrl, apiKey: KEY_B });
    const err = await collect(b.events(task.id)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverNotFoundError);
    expect((err as DroverNotFoundError).code).toBe('DROVER_ERR_TASK_NOT_FOUND');
    expect(proxy.connections - before).toBeLessThanOrEqual(1);
  });
});

describe('events from a scripted server', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const sse = (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
  const state = (id: string, status: string) => `id: ${id}\nevent: state\ndata: {"taskId":"t","queue":"general","status":"${status}","at":"2026-01-01T00:00:00.000Z"}\n\n`;
  const client = () =>
    new DroverClient({ baseUrl: server!.baseUrl, apiKey: 'k', retries: { attempts: 3, baseMs: 20, maxMs: 200 } });

  it('resumes a stream that ended early, drops a repeated event, and parses CRLF and multi-line data', async () => {
    server = await scriptedServer((n, _req, res) => {
      sse(res);
      if (n === 0) {
        res.write(': stream open\n\n');
        res.write(state('1', 'queued'));
        res.end(state('2', 'running'));
        return;
      }
      // The replay repeats event 2, then sends a progress event split over lines and chunks.
      res.write(state('2', 'running'));
      res.write('id: 3\r\nevent: progress\r\ndata: {"taskId":"t","queue":"general",\r\n');
      res.write('data: "progress":{"step":1},"at":"2026-01-01T00:00:00.000Z"}\r');
      res.write('\n\r\n');
      res.write(state('4', 'succeeded'));
      // Left open: the iterator ends on the task's final event without waiting for the close.
    });
    const got = await collect(client().events('t'));
    expect(got.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    expect(got[2]).toEqual({ event: 'progress', id: '3', data: { taskId: 't', queue: 'general', progress: { step: 1 }, at: '2026-01-01T00:00:00.000Z' } });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.headers['last-event-id']).toBeUndefined();
    expect(server.requests[1]!.headers['last-event-id']).toBe('2');
    expect(server.requests[1]!.headers.accept).toBe('text/event-stream');
  });

  it('reopens a stream that went silent, and rides out a 503 with Retry-After', async () => {
    server = await scriptedServer((n, _req, res) => {
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' });
        res.end('{"code":"DROVER_ERR_BACKEND_UNAVAILABLE","detail":"down","title":"t","status":503}');
        return;
      }
      sse(res);
      if (n === 0) res.write(state('1', 'running')); // then nothing, not even keep-alives
      else res.end(state('2', 'succeeded'));
    });
    const got = await collect(client().events('t', { idleTimeoutMs: 200 }));
    expect(got.map(label)).toEqual(['running', 'succeeded']);
    expect(server.requests).toHaveLength(3);
    expect(server.requests[2]!.headers['last-event-id']).toBe('1');
  });

  it('gives up after `reconnects` failures in a row with the last network error', async () => {
    server = await scriptedServer((_n, _req, res) => res.socket?.destroy());
    const err = await collect(client().events('t', { reconnects: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverNetworkError);
    expect(server.requests).toHaveLength(3);
  });

  it('refuses an answer that is not an event stream, without reconnecting', async () => {
    server = await scriptedServer((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const err = await collect(client().events('t')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverClientError);
    expect((err as DroverClientError).code).toBe('DROVER_CLIENT_ERR_UNEXPECTED_RESPONSE');
    expect(server.requests).toHaveLength(1);
  });

  it("stops at the caller's abort", async () => {
    server = await scriptedServer((_n, _req, res) => {
      sse(res);
      res.write(state('1', 'running'));
    });
    const controller = new AbortController();
    const got: DroverEvent[] = [];
    const err = await (async () => {
      for await (const e of client().events('t', { signal: controller.signal })) {
        got.push(e);
        setTimeout(() => controller.abort(), 20);
      }
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(got).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });
});
