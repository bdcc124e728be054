import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, expectProblem, jsonA, jsonB, startApp } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

const submit = (headers: Record<string, string>, body: unknown = { type: 'echo' }) => f.app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: JSON.stringify(body) });

describe('per-tenant submission rates (DROVER_TENANT_SUBMIT_RATE)', () => {
  it("refuses a tenant's submissions past its rate with 429 and Retry-After, and leaves other tenants alone", async () => {
    f = await startApp({ env: { DROVER_TENANT_SUBMIT_RATE: 'a:3,*:5' } });
    for (let i = 0; i < 3; i++) expect((await submit(jsonA)).statusCode).toBe(201);
    const refused = await submit(jsonA);
    const problem = expectProblem(refused, 429, 'DROVER_ERR_TENANT_RATE_LIMITED');
    expect(problem.detail).toContain('3 tasks per minute');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A batch counts each of its tasks; nothing of a refused batch is submitted.
    const before = (await f.backend.list({ tenant: 'b', limit: 100 })).items.length;
    const batch = (n: number) => f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonB, payload: JSON.stringify({ tasks: Array.from({ length: n }, () => ({ type: 'echo' })) }) });
    expect((await batch(4)).statusCode).toBe(201);
    expectProblem(await batch(2), 429, 'DROVER_ERR_TENANT_RATE_LIMITED');
    expect((await f.backend.list({ tenant: 'b', limit: 100 })).items.length).toBe(before + 4);
    expect((await submit(jsonB)).statusCode).toBe(201); // the fifth of b's five
    expect(expectProblem(await batch(6), 429, 'DROVER_ERR_TENANT_RATE_LIMITED').detail).toContain('split the batch');
  });

  it('limits each API key to DROVER_API_RATE_PER_MINUTE requests on every /v1 route, with Retry-After', async () => {
    f = await startApp({ env: { DROVER_API_RATE_PER_MINUTE: '4' } });
    const get = (headers: Record<string, string>) => f.app.inject({ method: 'GET', url: '/v1/queues', headers });
    for (let i = 0; i < 3; i++) expect((await get(jsonA)).statusCode).toBe(200);
    expect((await submit(jsonA)).statusCode).toBe(201); // the fourth
    const refused = await get(jsonA);
    expectProblem(refused, 429, 'DROVER_ERR_API_RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another key has its own budget; the probes and /metrics are not counted.
    expect((await get(jsonB)).statusCode).toBe(200);
    expect((await f.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // An unknown key is refused as unauthenticated, before any rate is counted.
    expectProblem(await get({ authorization: 'Bearer nope-nope-nope-nope' }), 401, 'DROVER_ERR_UNAUTHENTICATED');
  });

  it('costs nothing and refuses nothing when unset', async () => {
    f = await startApp();
    for (let i = 0; i < 20; i++) expect((await submit(jsonA)).statusCode).toBe(201);
  });
});
