import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverConflictError, DroverNotFoundError, DroverValidationError, type TaskRecord } from '../src/index.js';
import { KEY_B, type Orchestrator, startOrchestrator, until } from './orchestrator-fixture.js';

let o: Orchestrator;
beforeAll(async () => {
  o = await startOrchestrator();
});
afterAll(async () => {
  await o?.close();
});

describe('schedules', () => {
  it('creates an interval schedule whose tick runs a task, lists, reads and deletes it', async () => {
    const c = o.client();
    const s = await c.schedules.create({ everyMs: 1000, task: { type: 'echo', input: { from: 'schedule' } } });
    expect(s).toMatchObject({ everyMs: 1000, cron: null, timezone: 'UTC', catchUp: 'one', lastTaskId: null });
    expect(s.id).toMatch(/^sch_/);
    expect((await c.schedules.list()).map((x) => x.id)).toContain(s.id);
    expect(await o.client(KEY_B).schedules.list()).toEqual([]);

    let lastTaskId: string | null = null;
    await until(
      async () => {
        lastTaskId = (await c.schedules.get(s.id)).lastTaskId;
        return lastTaskId !== null;
      },
      'the first tick',
      5000,
    );
    const ticked = await c.wait(lastTaskId!, { timeoutMs: 10_000 });
    expect(ticked).toMatchObject({ status: 'succeeded', output: { from: 'schedule' }, tenant: 'a' });

    expect(await c.schedules.delete(s.id)).toEqual({ id: s.id, deleted: true });
    const gone = await c.schedules.get(s.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DroverNotFoundError);
    expect((gone as DroverNotFoundError).code).toBe('DROVER_ERR_SCHEDULE_NOT_FOUND');
  });

  it('refuses a schedule with both cron and everyMs, naming the field', async () => {
    const err = await o
      .client()
      .schedules.create({ cron: '* * * * *', everyMs: 1000, task: { type: 'echo' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverValidationError);
    expect((err as DroverValidationError).errors.map((e) => e.path)).toContain('/cron');
  });
});

describe('dead letters', () => {
  /** Submits sleep tasks that fail for good (PermanentError, one attempt) and waits for them. */
  const failed = async (n: number): Promise<TaskRecord[]> => {
    const c = o.client();
    const tasks = await c.submitBatch(Array.from({ length: n }, (_, i) => ({ type: 'sleep', input: { ms: 1 + i, fail: true }, maxAttempts: 1 })));
    return Promise.all(tasks.map((t) => c.wait(t.id, { timeoutMs: 10_000 })));
  };

  it('lists, retries and discards dead letters one by one', async () => {
    const c = o.client();
    const [dead] = await failed(1);
    expect(dead!.status).toBe('failed');
    const listed: string[] = [];
    for await (const t of c.deadLetters.all({ type: 'sleep', pageSize: 1 })) listed.push(t.id);
    expect(listed).toContain(dead!.id);
    const page = await c.deadLetters.list({ code: dead!.error!.code, limit: 1000 });
    expect(page.items.map((t) => t.id)).toContain(dead!.id);

    const again = await c.deadLetters.retry(dead!.id);
    expect(again.id).not.toBe(dead!.id);
    expect(again.input).toEqual(dead!.input);
    expect((await c.wait(again.id, { timeoutMs: 10_000 })).status).toBe('failed');
    // The retried one is no longer a dead letter; the new failure is.
    const gone = await c.get(dead!.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DroverNotFoundError);
    expect(await c.deadLetters.discard(again.id)).toEqual({ id: again.id, discarded: true });

    const alive = await c.submit({ type: 'echo', input: 1 }, { wait: 10_000 });
    const notDead = await c.deadLetters.retry(alive.id).catch((e: unknown) => e);
    expect(notDead).toBeInstanceOf(DroverConflictError);
    expect((notDead as DroverConflictError).code).toBe('DROVER_ERR_NOT_DEAD_LETTER');
  });

  it('retries and discards in bulk by filter', async () => {
    const c = o.client();
    const dead = await failed(3);
    const ids = dead.map((t) => t.id);
    const retried = await c.deadLetters.bulkRetry({ ids: ids.slice(0, 2) });
    expect(retried.count).toBe(2);
    expect(retried.ids).toEqual(ids.slice(0, 2));
    expect(retried.tasks).toHaveLength(2);
    for (const t of retried.tasks!) await c.wait(t.id, { timeoutMs: 10_000 });

    const first = await c.deadLetters.bulkDiscard({ type: 'sleep', limit: 1 });
    expect(first).toMatchObject({ count: 1, more: true });
    const rest = await c.deadLetters.bulkDiscard({ type: 'sleep' });
    expect(rest.more).toBe(false);
    expect(first.count + rest.count).toBeGreaterThanOrEqual(3);
    expect((await c.deadLetters.list({ type: 'sleep' })).items).toEqual([]);
  });
});
