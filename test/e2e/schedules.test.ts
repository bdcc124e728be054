import { randomBytes } from 'node:crypto';
import { type Backend, type TaskRecord, createBackend, loadConfig } from '@drover/shared';
import { RedisServer, freePort, testBroker, uniqueName } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { type ServiceProcess, startOrchestratorOn } from '../support/service-process.js';

/**
 * Schedules with 3 orchestrator processes (issue 13): every tick fires exactly once whatever the
 * number of replicas, and a tick missed while every replica was down fires once on recovery
 * (catchUp: one) or not at all (catchUp: none).
 */
describe.each(['bullmq', 'rabbitmq'] as const)('schedules across 3 orchestrators on %s', (kind) => {
  let redis: RedisServer;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let backend: Backend;
  let env: Record<string, string>;
  const key = `sched-${randomBytes(12).toString('hex')}`;
  const ports: number[] = [];
  let orchestrators: ServiceProcess[] = [];

  // A minute, as the chaos suite allows: beside it on two loaded cores a start took over 30 s.
  const startOrchestrator = (i: number) => startOrchestratorOn(ports, i, env, 60_000);

  beforeAll(async () => {
    redis = await RedisServer.start();
    const prefix = uniqueName('sched');
    env = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: prefix,
      DROVER_API_KEYS: `acme:${key}`,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_DRAIN_DELAY_MS: '0',
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    orchestrators = await Promise.all([0, 1, 2].map(startOrchestrator));
    backend = await createBackend(loadConfig(env));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(orchestrators.map((o) => o.stop()));
    await backend?.close();
    await broker?.stop();
    await redis?.stop();
  });

  /** Every task a schedule submitted, by tick (from its idempotency key). */
  const ticksOf = async (scheduleId: string): Promise<Map<number, TaskRecord[]>> => {
    const out = new Map<number, TaskRecord[]>();
    let cursor: string | undefined;
    do {
      const page = await backend.list({ tenant: 'acme', type: 'echo', limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const t of page.items) {
        const m = /^drover-schedule:(.+):(\d+)$/.exec(t.idempotencyKey ?? '');
        if (m?.[1] !== scheduleId) continue;
        const tick = Number(m[2]);
        out.set(tick, [...(out.get(tick) ?? []), t]);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  };

  it('fires each tick once with 3 replicas, and a tick missed while all were down once (catchUp one) or never (none)', async () => {
    const api = new ApiClient(`http://127.0.0.1:${ports[0]}`, key);
    const make = async (catchUp: 'one' | 'none') => {
      const res = await api.request('POST', '/v1/schedules', { everyMs: 1000, catchUp, task: { type: 'echo', input: { catchUp } } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; createdAt: string };
    };
    const one = await make('one');
    const none = await make('none');
    await new Promise((r) => setTimeout(r, 4600));

    // Phase 1: three replicas, every tick exactly once, none skipped.
    for (const s of [one, none]) {
      const ticks = await ticksOf(s.id);
      const created = Date.parse(s.createdAt);
      const fired = [...ticks.keys()].sort((a, b) => a - b);
      expect(fired.length, `${s.id} fired ${fired.length} ticks`).toBeGreaterThanOrEqual(4);
      expect(fired).toEqual(fired.map((_, k) => created + (k + 1) * 1000));
      for (const tasks of ticks.values()) expect(tasks).toHaveLength(1);
    }
    console.log(`${kind}: 3 replicas, ${(await ticksOf(one.id)).size} + ${(await ticksOf(none.id)).size} ticks, each fired exactly once`);

    // Phase 2: every replica down for 6 s (longer than a leader takeover, which is not an
    // outage: see missedGapMs), then one comes back.
    await Promise.all(orchestrators.map((o) => o.stop()));
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    const upAt = Date.now();
    orchestrators = [await startOrchestrator(1)];
    const readyAt = Date.now();
    await new Promise((r) => setTimeout(r, 2600));

    const oneTicks = await ticksOf(one.id);
    const noneTicks = await ticksOf(none.id);
    const read = async (id: string) => (await new ApiClient(`http://127.0.0.1:${ports[1]}`, key).request('GET', `/v1/schedules/${id}`)).body as { missedTicks: number; lastCatchUpAt: string | null; lastTickAt: string };
    const oneRecord = await read(one.id);
    const noneRecord = await read(none.id);
    console.log(
      `${kind}: all 3 down ${upAt - downAt} ms (and ${readyAt - upAt} ms to start one again): catchUp one fired ${oneTicks.size} ticks in all, missed ${oneRecord.missedTicks}, caught up at ${oneRecord.lastCatchUpAt}; none fired ${noneTicks.size}, missed ${noneRecord.missedTicks}`,
    );
    for (const [s, ticks, record] of [
      [one, oneTicks, oneRecord],
      [none, noneTicks, noneRecord],
    ] as const) {
      // Every tick from creation to the last is accounted for: fired once, or counted as missed.
      const fired = [...ticks.keys()].sort((a, b) => a - b);
      const created = Date.parse(s.createdAt);
      expect(fired.length + record.missedTicks).toBe((Date.parse(record.lastTickAt) - created) / 1000);
      // The outage (6 s, and the restart) skipped 3 ticks or more; nothing fired while all were down.
      expect(fired.filter((t) => t > downAt + 100 && t < upAt)).toEqual([]);
    }
    expect(noneRecord.missedTicks).toBeGreaterThanOrEqual(3);
    expect(noneRecord.lastCatchUpAt).toBeNull();
    // catchUp one: the outage's ticks collapsed into one, fired on recovery.
    expect(oneRecord.missedTicks).toBeGreaterThanOrEqual(2);
    const caughtUp = Date.parse(oneRecord.lastCatchUpAt ?? '');
    expect(oneTicks.has(caughtUp)).toBe(true);
    expect(caughtUp).toBeGreaterThan(downAt);
    const before = [...oneTicks.keys()].filter((t) => t < caughtUp).sort((a, b) => b - a)[0]!;
    expect(before).toBeLessThan(downAt + 100);
    expect((caughtUp - before) / 1000 - 1).toBe(oneRecord.missedTicks);
    // Both go on ticking after the recovery, each tick once.
    for (const ticks of [oneTicks, noneTicks]) {
      expect([...ticks.keys()].filter((t) => t > readyAt).length).toBeGreaterThanOrEqual(1);
      for (const tasks of ticks.values()) expect(tasks).toHaveLength(1);
    }
  }, 90_000);
});
