import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authB, expectProblem, jsonA, startApp, until } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

/** A consumer whose tasks finish only when the test says so. */
async function gatedConsumer(fx: Fixture) {
  const gates: Array<() => void> = [];
  await fx.backend.consume('general', {
    concurrency: 10,
    handler: (task) => new Promise((resolve) => gates.push(() => resolve({ echoed: task.input }))),
  });
  return {
    started: () => gates.length,
    finishAll: () => {
      for (const g of gates.splice(0)) g();
    },
  };
}

describe('long-poll (?wait=)', () => {
  it('GET answers as soon as the task finishes, with the finished record', async () => {
    // The cap is far above the test timeout: only the finish can end this wait.
    f = await startApp({ env: { DROVER_WAIT_MAX_MS: '600000' } });
    const worker = await gatedConsumer(f);
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo', input: 7 } })).json().id;
    await until(() => worker.started() === 1, 'the task to start');
    const pending = f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=600000`, headers: authA });
    await until(() => f.app.drover.waiter.size === 1, 'the request to wait');
    worker.finishAll();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'succeeded', output: { echoed: 7 } });
    expect(f.app.drover.waiter.size).toBe(0);
  });

  it('POST /v1/tasks?wait= submits and answers with the finished task', async () => {
    f = await startApp();
    await f.backend.consume('general', { concurrency: 1, handler: async (task) => task.input });
    const res = await f.app.inject({ method: 'POST', url: '/v1/tasks?wait=10000', headers: jsonA, payload: { type: 'echo', input: { hello: 'world' } } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'succeeded', output: { hello: 'world' } });
  });

  it('answers with the current record when the wait reaches DROVER_WAIT_MAX_MS', async () => {
    f = await startApp({ env: { DROVER_WAIT_MAX_MS: '30' } });
    const worker = await gatedConsumer(f);
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } })).json().id;
    await until(() => worker.started() === 1, 'the task to start');
    // Asking for more than the limit is refused (issue 11: it was cut short in silence)...
    expectProblem(await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=600000`, headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    // ...and the limit itself answers with the current record once it runs out.
    const res = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=30`, headers: authA });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'running' });
    expect(f.app.drover.waiter.size).toBe(0);
    worker.finishAll();
  });

  it('answers at once for a finished task, and 404 for another tenant even while waiting', async () => {
    f = await startApp();
    await f.backend.consume('general', { concurrency: 1, handler: async () => 'done' });
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks?wait=10000', headers: jsonA, payload: { type: 'echo' } })).json().id;
    const res = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=60000`, headers: authA });
    expect(res.json().status).toBe('succeeded');
    const other = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=60000`, headers: authB });
    expect(other.statusCode).toBe(404);
    expect(f.app.drover.waiter.size).toBe(0);
  });

  it('many waiters on one task share one backend subscription and all wake', async () => {
    let subscriptions = 0;
    f = await startApp({
      env: { DROVER_WAIT_MAX_MS: '600000' },
      setup: async (b) => {
        const onEvent = b.onEvent.bind(b);
        b.onEvent = (listener) => {
          subscriptions++;
          return onEvent(listener);
        };
      },
    });
    const worker = await gatedConsumer(f);
    // The event log (SSE history) holds one subscription of its own from start-up.
    const before = subscriptions;
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } })).json().id;
    const waits = Array.from({ length: 20 }, () => f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=600000`, headers: authA }));
    await until(() => worker.started() === 1, 'the task to start');
    await new Promise((r) => setImmediate(r));
    worker.finishAll();
    const all = await Promise.all(waits);
    expect(all.map((r) => r.json().status)).toEqual(Array(20).fill('succeeded'));
    expect(before).toBe(1);
    expect(subscriptions - before).toBe(1);
  });

  it('closing the app releases pending long-polls with the current record', async () => {
    f = await startApp({ env: { DROVER_WAIT_MAX_MS: '600000' } });
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } })).json().id;
    const pending = f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=600000`, headers: authA });
    await until(() => f.app.drover.waiter.size === 1, 'the request to wait');
    f.app.drover.waiter.stop();
    const res = await pending;
    expect(res.json()).toMatchObject({ id, status: 'queued' });
  });
});
