import { LocalLeaderLease, LocalScheduleStore, type Schedule, createLogger } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler, countDueTicks, dueTicks, nextTick } from '../src/scheduler.js';
import { type Fixture, authA, authB, expectProblem, jsonA, startApp, until } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

const create = (body: unknown) => f.app.inject({ method: 'POST', url: '/v1/schedules', headers: jsonA, payload: JSON.stringify(body) });

describe('schedules over HTTP', () => {
  it('fires an interval schedule once per tick, as the tenant, until it is deleted', async () => {
    f = await startApp();
    const res = await create({ everyMs: 1000, task: { type: 'echo', input: { from: 'schedule' }, priority: 3 } });
    expect(res.statusCode, res.body).toBe(201);
    const s = res.json();
    expect(s).toMatchObject({ everyMs: 1000, cron: null, timezone: 'UTC', catchUp: 'one', lastTickAt: null, lastTaskId: null });
    expect(Date.parse(s.nextTickAt) - Date.parse(s.createdAt)).toBe(1000);

    await until(async () => (await f.backend.list({ tenant: 'a', type: 'echo', limit: 10 })).items.length >= 2, 'two ticks', 5000);
    const tasks = (await f.backend.list({ tenant: 'a', type: 'echo', limit: 10 })).items;
    const created = Date.parse(s.createdAt);
    expect(tasks.slice(0, 2).map((t) => t.idempotencyKey)).toEqual([`drover-schedule:${s.id}:${created + 1000}`, `drover-schedule:${s.id}:${created + 2000}`]);
    expect(tasks[0]).toMatchObject({ tenant: 'a', input: { from: 'schedule' }, priority: 3 });
    const read = (await f.app.inject({ method: 'GET', url: `/v1/schedules/${s.id}`, headers: authA })).json();
    expect(read.lastTaskId).toBe(tasks[tasks.length - 1]!.id);
    expect((await f.app.inject({ method: 'GET', url: '/v1/schedules', headers: authA })).json().schedules.map((x: { id: string }) => x.id)).toEqual([s.id]);

    // Another tenant sees none of it.
    expect((await f.app.inject({ method: 'GET', url: '/v1/schedules', headers: authB })).json()).toEqual({ schedules: [] });
    expectProblem(await f.app.inject({ method: 'GET', url: `/v1/schedules/${s.id}`, headers: authB }), 404, 'DROVER_ERR_SCHEDULE_NOT_FOUND');
    expectProblem(await f.app.inject({ method: 'DELETE', url: `/v1/schedules/${s.id}`, headers: authB }), 404, 'DROVER_ERR_SCHEDULE_NOT_FOUND');

    const del = await f.app.inject({ method: 'DELETE', url: `/v1/schedules/${s.id}`, headers: authA });
    expect(del.json()).toEqual({ id: s.id, deleted: true });
    const count = (await f.backend.list({ tenant: 'a', type: 'echo', limit: 100 })).items.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await f.backend.list({ tenant: 'a', type: 'echo', limit: 100 })).items.length).toBe(count);
    expectProblem(await f.app.inject({ method: 'GET', url: `/v1/schedules/${s.id}`, headers: authA }), 404, 'DROVER_ERR_SCHEDULE_NOT_FOUND');
  });

  it('refuses what cannot be scheduled, naming the field', async () => {
    f = await startApp();
    const cases: Array<[unknown, string, string]> = [
      [{ task: { type: 'echo' } }, 'DROVER_ERR_VALIDATION', '/everyMs'],
      [{ cron: '* * * * *', everyMs: 1000, task: { type: 'echo' } }, 'DROVER_ERR_VALIDATION', '/cron'],
      [{ cron: 'every tuesday', task: { type: 'echo' } }, 'DROVER_ERR_VALIDATION', '/cron'],
      [{ cron: '0 9 * * *', timezone: 'Mars/Olympus', task: { type: 'echo' } }, 'DROVER_ERR_VALIDATION', '/timezone'],
      [{ everyMs: 10, task: { type: 'echo' } }, 'DROVER_ERR_VALIDATION', '/everyMs'],
      [{ everyMs: 1000, task: { type: 'nope' } }, 'DROVER_ERR_UNKNOWN_TASK_TYPE', '/task/type'],
      [{ everyMs: 1000, task: { type: 'sleep', input: { ms: 'long' } } }, 'DROVER_ERR_INVALID_INPUT', '/task/input/ms'],
      [{ everyMs: 1000, task: { type: 'echo', delayMs: 5 } }, 'DROVER_ERR_VALIDATION', '/task/delayMs'],
    ];
    for (const [body, code, path] of cases) {
      const problem = expectProblem(await create(body), 400, code);
      expect(JSON.stringify(problem.errors ?? []), JSON.stringify(body)).toContain(path);
    }
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/schedules/not-an-id', headers: authA }), 404, 'DROVER_ERR_SCHEDULE_NOT_FOUND');
  });
});

describe('the scheduler', () => {
  const logger = createLogger({ service: 't', instance: 't', region: 'local', level: 'silent' });
  const schedule = (over: Partial<Schedule>): Schedule => ({
    id: 'sch_test',
    tenant: 'a',
    cron: null,
    timezone: 'UTC',
    everyMs: 1000,
    catchUp: 'one',
    task: { type: 'echo' },
    createdAt: 1_000_000,
    lastTickAt: 1_000_000,
    lastTaskId: null,
    lastError: null,
    missedTicks: 0,
    lastCatchUpTick: null,
    ...over,
  });

  it('fires each tick once even when several replicas check at the same moments', async () => {
    const store = new LocalScheduleStore(new LocalLeaderLease());
    await store.put(schedule({}));
    const fired: number[] = [];
    const fire = async (_s: Schedule, tick: number) => {
      fired.push(tick);
      return `task-${tick}`;
    };
    const replicas = [1, 2, 3].map(() => new Scheduler({ store, fire, logger }));
    for (let now = 1_000_000; now <= 1_005_000; now += 250) await Promise.all(replicas.map((r) => r.check(now)));
    // Replicas racing on a tick may each submit it (the idempotency key makes that one task); the
    // store moves the schedule on once per tick.
    expect([...new Set(fired)]).toEqual([1_001_000, 1_002_000, 1_003_000, 1_004_000, 1_005_000]);
    expect((await store.get('sch_test'))?.lastTickAt).toBe(1_005_000);
    expect((await store.get('sch_test'))?.lastTaskId).toBe('task-1005000');
  });

  it('fires only on the leader: a follower fires nothing, and the fenced tick of a deposed leader is refused', async () => {
    const lease = new LocalLeaderLease();
    const store = new LocalScheduleStore(lease);
    await store.put(schedule({}));
    const fired: string[] = [];
    const replica = (id: string, token: () => number | null) =>
      new Scheduler({
        store,
        fire: async (_s, tick) => {
          fired.push(`${id}@${tick}`);
          return `task-${tick}`;
        },
        logger,
        fence: () => (token() === null ? null : { id, token: token()! }),
      });
    const a = (await lease.acquire('a', 60_000))!;
    const leader = replica('a', () => a);
    const follower = replica('b', () => null);
    await follower.check(1_001_100);
    expect(fired).toEqual([]);
    await leader.check(1_001_100);
    expect(fired).toEqual(['a@1001000']);
    // a's lease is gone (b took over) but a still believes it leads: it may submit the tick's task
    // (the idempotency key makes that the same task b submits), but cannot move the schedule on.
    await lease.release('a', a);
    const b = (await lease.acquire('b', 60_000))!;
    await leader.check(1_002_100);
    expect((await store.get('sch_test'))?.lastTickAt).toBe(1_001_000);
    await replica('b', () => b).check(1_002_100);
    expect((await store.get('sch_test'))?.lastTickAt).toBe(1_002_000);
  });

  it('after every replica was down, fires a missed tick once (catchUp: one) or not at all (none)', async () => {
    for (const catchUp of ['one', 'none'] as const) {
      const store = new LocalScheduleStore(new LocalLeaderLease());
      await store.put(schedule({ catchUp }));
      const fired: number[] = [];
      const s = new Scheduler({ store, fire: async (_s, tick) => {
          fired.push(tick);
          return 'x';
        },
        logger,
      });
      await s.check(1_000_500);
      await s.check(1_001_100); // the first tick, on time
      await s.check(1_009_500); // 8.4 s later: every replica was down for ticks 2..9
      await s.check(1_010_100); // back to normal: tick 10 on time
      expect(fired).toEqual(catchUp === 'one' ? [1_001_000, 1_009_000, 1_010_000] : [1_001_000, 1_010_000]);
      expect(await store.get('sch_test')).toMatchObject(catchUp === 'one' ? { missedTicks: 7, lastCatchUpTick: 1_009_000 } : { missedTicks: 8, lastCatchUpTick: null });
    }
  });

  it('counts every tick of an outage longer than the ticks one check fires, as missed', async () => {
    for (const catchUp of ['one', 'none'] as const) {
      const store = new LocalScheduleStore(new LocalLeaderLease());
      await store.put(schedule({ catchUp }));
      const fired: number[] = [];
      const s = new Scheduler({
        store,
        fire: async (_s, tick) => {
          fired.push(tick);
          return 'x';
        },
        logger,
      });
      await s.check(1_000_500);
      await s.check(1_001_100); // the first tick, on time
      await s.check(1_031_500); // 30.4 s later: ticks 2..31 fell in the outage
      const stored = (await store.get('sch_test'))!;
      // Every tick up to the last is accounted for: fired, or counted as missed.
      expect(fired.length + stored.missedTicks).toBe((stored.lastTickAt - 1_000_000) / 1000);
      expect(stored.missedTicks).toBe(catchUp === 'one' ? 29 : 30);
    }
    const cron = schedule({ cron: '* * * * * *', everyMs: null, timezone: 'UTC', createdAt: 1_000_000, lastTickAt: 1_001_000 });
    expect(countDueTicks(cron, 1_031_500)).toBe(30);
    expect(dueTicks(cron, 1_031_500)).toHaveLength(10);
  });

  it('reads cron expressions in their time zone', () => {
    // 09:00 in Tokyo is 00:00 UTC.
    const tokyo = schedule({ cron: '0 0 9 * * *', timezone: 'Asia/Tokyo', everyMs: null, createdAt: Date.parse('2026-12-03T12:00:00Z'), lastTickAt: Date.parse('2026-12-03T12:00:00Z') });
    expect(new Date(nextTick(tokyo, tokyo.createdAt)!).toISOString()).toBe('2026-12-04T00:00:00.000Z');
    expect(dueTicks(tokyo, Date.parse('2026-12-04T00:00:01Z'))).toEqual([Date.parse('2026-12-04T00:00:00Z')]);
    expect(dueTicks(tokyo, Date.parse('2026-12-03T23:59:59Z'))).toEqual([]);
  });
});
