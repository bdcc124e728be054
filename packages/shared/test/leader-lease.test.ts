import { deleteKeys, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderElection, type LeaderLeaseStore, LocalLeaderLease, RedisLeaderLease } from '../src/leader-lease.js';
import { createLogger } from '../src/logger.js';
import { LocalScheduleStore, RedisScheduleStore, type Schedule, type ScheduleStore } from '../src/schedule-store.js';

const logger = createLogger({ service: 'test', instance: 'test', region: 'local', level: 'silent' });
const connections: Redis[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const r of connections) r.disconnect();
  for (const p of prefixes) await deleteKeys(testRedisUrl(), p);
});

const schedule = (id: string): Schedule => ({
  id,
  tenant: 'acme',
  cron: null,
  everyMs: 1000,
  timezone: 'UTC',
  catchUp: 'one',
  task: { type: 'echo' },
  createdAt: 1_000_000,
  lastTickAt: 0,
  lastTaskId: null,
  lastError: null,
  missedTicks: 0,
  lastCatchUpTick: null,
});

const stores: Array<[string, () => { lease: LeaderLeaseStore; schedules: ScheduleStore }]> = [
  [
    'memory',
    () => {
      const lease = new LocalLeaderLease();
      return { lease, schedules: new LocalScheduleStore(lease) };
    },
  ],
  [
    'redis',
    () => {
      const redis = new Redis(testRedisUrl());
      connections.push(redis);
      const base = `${uniqueName('lease')}:`;
      prefixes.push(base);
      return { lease: new RedisLeaderLease(redis, base), schedules: new RedisScheduleStore(redis, base) };
    },
  ],
];

describe.each(stores)('the leader lease on %s', (_name, make) => {
  it('has one holder at a time, a larger token for each new one, and refuses a stale holder its renewal and its fenced writes', async () => {
    const { lease, schedules } = make();
    const a = await lease.acquire('a', 300);
    expect(a).not.toBeNull();
    expect(await lease.acquire('b', 300)).toBeNull();
    // Held again by its holder: the same token, extended.
    expect(await lease.acquire('a', 300)).toBe(a);
    await schedules.put(schedule('s1'));
    const outcome = { lastTaskId: 't1', lastError: null, missedTicks: 0, lastCatchUpTick: null };
    expect(await schedules.advance('s1', 0, 1000, outcome, { id: 'a', token: a! })).toBe(true);

    // a is frozen past its lease; b takes over with a larger token.
    await new Promise((r) => setTimeout(r, 400));
    const b = await lease.acquire('b', 5000);
    expect(b).toBeGreaterThan(a!);
    expect(await lease.holder()).toEqual({ id: 'b', token: b });
    // a wakes: its renewal and its write are refused; b's write goes through.
    expect(await lease.renew('a', a!, 300)).toBe(false);
    expect(await schedules.advance('s1', 1000, 2000, { ...outcome, lastTaskId: 'stale' }, { id: 'a', token: a! })).toBe(false);
    expect((await schedules.get('s1'))?.lastTickAt).toBe(1000);
    expect(await schedules.advance('s1', 1000, 2000, outcome, { id: 'b', token: b! })).toBe(true);
    expect(await lease.renew('b', b!, 5000)).toBe(true);
    // Released on shutdown: the next holder need not wait for the lease to run out.
    await lease.release('b', b!);
    expect(await lease.holder()).toBeNull();
    expect(await lease.acquire('c', 300)).toBeGreaterThan(b!);
  });

  it('elects one of several campaigners, and another within a lease when the leader stops', async () => {
    const { lease } = make();
    const elections = ['x', 'y', 'z'].map((id) => new LeaderElection({ store: lease, id, leaseMs: 600, logger }));
    for (const e of elections) e.start();
    try {
      const first = await waitUntil(() => {
        const leading = elections.filter((e) => e.isLeader);
        return leading.length === 1 ? leading[0] : null;
      }, 'one leader');
      expect(first.fencingToken).not.toBeNull();
      const token = first.fencingToken!;
      // Still one after a few renewals.
      await new Promise((r) => setTimeout(r, 700));
      expect(elections.filter((e) => e.isLeader)).toEqual([first]);
      await first.stop();
      const next = await waitUntil(() => elections.find((e) => e !== first && e.isLeader), 'another leader', 2000);
      expect(next.fencingToken).toBeGreaterThan(token);
      expect(elections.filter((e) => e.isLeader)).toHaveLength(1);
    } finally {
      await Promise.all(elections.map((e) => e.stop()));
    }
  });
});
