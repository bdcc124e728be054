import { testRedisUrl, uniqueName } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRateWindows, RedisRateWindows, type RateWindowStore } from '../src/rate-window.js';

const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe.each([
  ['memory', () => new LocalRateWindows()],
  [
    'redis',
    () => {
      const r = new Redis(testRedisUrl());
      clients.push(r);
      return new RedisRateWindows(r, `${uniqueName('rate')}:`);
    },
  ],
] as const)('rate windows (%s)', (_name, make) => {
  it('never lets the window go past its limit, refuses without taking, and says when the window ends', async () => {
    const store: RateWindowStore = make();
    const window = 60_000;
    expect(await store.take('t', 3, 5, window)).toEqual({ allowed: true, retryAfterMs: 0 });
    const refused = await store.take('t', 3, 5, window);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(window);
    // The refused take spent nothing: two more still fit.
    expect((await store.take('t', 2, 5, window)).allowed).toBe(true);
    expect((await store.take('t', 1, 5, window)).allowed).toBe(false);
    expect((await store.take('other', 5, 5, window)).allowed).toBe(true);
  });
});

describe('rate windows across replicas', () => {
  it('is one budget for every client of the same Redis, taken atomically', async () => {
    const base = `${uniqueName('rate')}:`;
    const replicas = [0, 1, 2].map(() => {
      const r = new Redis(testRedisUrl());
      clients.push(r);
      return new RedisRateWindows(r, base);
    });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => replicas[i % 3]!.take('tenant', 1, 25, 60_000)));
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
  });
});
