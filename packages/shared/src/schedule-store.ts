import type { Redis } from 'ioredis';
import { type Fence, type LocalLeaderLease, leaderKey } from './leader-lease.js';

/** What a schedule submits at each tick (the fields of POST /v1/tasks it may set). */
export interface ScheduledTask {
  type: string;
  input?: unknown;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

/** A schedule as stored. Times are epoch milliseconds. */
export interface Schedule {
  id: string;
  tenant: string;
  /** A cron expression (5 fields, or 6 with seconds) in `timezone`, or null for an interval. */
  cron: string | null;
  timezone: string;
  /** Fixed interval in ms (ticks at createdAt + k × everyMs), or null for a cron schedule. */
  everyMs: number | null;
  /** A tick missed while no orchestrator ran: `one` fires it once on recovery, `none` skips it. */
  catchUp: 'one' | 'none';
  task: ScheduledTask;
  createdAt: number;
  /** The last tick that fired (0 before the first). */
  lastTickAt: number;
  /** The task the last tick submitted. */
  lastTaskId: string | null;
  /** Why the last tick could not submit (an unknown type, an input the schema refuses), or null. */
  lastError: string | null;
  /** Ticks skipped because every orchestrator was down at their time (catchUp: none, or all but one). */
  missedTicks: number;
  /** The last tick fired on recovery in place of the ticks of an outage (catchUp: one), or null. */
  lastCatchUpTick: number | null;
}

/** What one tick left behind: the fields advance() writes with the new last tick. */
export type TickOutcome = Pick<Schedule, 'lastTaskId' | 'lastError' | 'missedTicks' | 'lastCatchUpTick'>;

/**
 * Where schedules live: the memory backend keeps them in the process, bullmq and rabbitmq in
 * Redis, so every orchestrator replica sees the same ones. advance() is the compare-and-set that
 * makes each tick fire once: only the call that moves lastTickAt from `from` wins.
 */
export interface ScheduleStore {
  put(schedule: Schedule): Promise<void>;
  get(id: string): Promise<Schedule | null>;
  /** Every schedule (all tenants), for the ticker; tenants' lists filter it. */
  all(): Promise<Schedule[]>;
  delete(id: string): Promise<boolean>;
  /**
   * Sets lastTickAt to `tick` (and the outcome) if it still is `from`; true for the one caller that
   * did. With a fence, only while the fence's holder still holds the leader lease (false otherwise).
   */
  advance(id: string, from: number, tick: number, outcome: TickOutcome, fence?: Fence): Promise<boolean>;
  /**
   * Records that a scheduler checked at `now` and returns when one last checked before (null the
   * first time): a long gap means every orchestrator was down, and the ticks in it were missed.
   */
  checked(now: number): Promise<number | null>;
}

export class LocalScheduleStore implements ScheduleStore {
  private readonly schedules = new Map<string, Schedule>();
  private lastCheck: number | null = null;

  constructor(private readonly lease: LocalLeaderLease) {}

  async checked(now: number): Promise<number | null> {
    const before = this.lastCheck;
    this.lastCheck = Math.max(now, before ?? 0);
    return before;
  }

  async put(schedule: Schedule): Promise<void> {
    this.schedules.set(schedule.id, structuredClone(schedule));
  }

  async get(id: string): Promise<Schedule | null> {
    const s = this.schedules.get(id);
    return s ? structuredClone(s) : null;
  }

  async all(): Promise<Schedule[]> {
    return [...this.schedules.values()].map((s) => structuredClone(s));
  }

  async delete(id: string): Promise<boolean> {
    return this.schedules.delete(id);
  }

  async advance(id: string, from: number, tick: number, outcome: TickOutcome, fence?: Fence): Promise<boolean> {
    const s = this.schedules.get(id);
    if (!s || s.lastTickAt !== from) return false;
    if (fence) {
      const holder = this.lease.holderNow();
      if (holder?.id !== fence.id || holder.token !== fence.token) return false;
    }
    Object.assign(s, outcome, { lastTickAt: tick });
    return true;
  }
}

// KEYS[1] id -> last tick  KEYS[2] id -> last outcome JSON  KEYS[3] leader lease
// ARGV[1] id  ARGV[2] from  ARGV[3] tick  ARGV[4] outcome JSON  ARGV[5] fence "<id>|<token>" or ''
// The schedule's own JSON is never rewritten here, so nothing in its task input is re-encoded.
const ADVANCE = `
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then return 0 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1
`;


/**
 * For bullmq and rabbitmq: hashes in the backend's Redis keyed by schedule id, the schedule as
 * JSON in one, its last tick and last outcome in two others (changed by the advance script).
 */
export class RedisScheduleStore implements ScheduleStore {
  private readonly redis: Redis & { drvScheduleAdvance(...args: Array<string | number>): Promise<number> };
  private readonly key: string;
  private readonly ticks: string;
  private readonly outcomes: string;
  private readonly checks: string;
  private readonly lease: string;

  constructor(redis: Redis, keyBase: string) {
    if (!('drvScheduleAdvance' in redis)) redis.defineCommand('drvScheduleAdvance', { numberOfKeys: 3, lua: ADVANCE });
    this.redis = redis as RedisScheduleStore['redis'];
    this.key = `${keyBase}schedules`;
    this.ticks = `${keyBase}schedules:ticks`;
    this.outcomes = `${keyBase}schedules:outcomes`;
    this.checks = `${keyBase}schedules:checked`;
    this.lease = leaderKey(keyBase);
  }

  async put(schedule: Schedule): Promise<void> {
    const { lastTickAt, lastTaskId, lastError, missedTicks, lastCatchUpTick, ...rest } = schedule;
    const outcome: TickOutcome = { lastTaskId, lastError, missedTicks, lastCatchUpTick };
    await this.redis
      .multi()
      .hset(this.key, schedule.id, JSON.stringify(rest))
      .hset(this.ticks, schedule.id, lastTickAt)
      .hset(this.outcomes, schedule.id, JSON.stringify(outcome))
      .exec();
  }

  async get(id: string): Promise<Schedule | null> {
    const [raw, tick, outcome] = await Promise.all([this.redis.hget(this.key, id), this.redis.hget(this.ticks, id), this.redis.hget(this.outcomes, id)]);
    return raw ? merge(raw, tick, outcome) : null;
  }

  async all(): Promise<Schedule[]> {
    const [raws, ticks, outcomes] = await Promise.all([this.redis.hgetall(this.key), this.redis.hgetall(this.ticks), this.redis.hgetall(this.outcomes)]);
    return Object.entries(raws).map(([id, raw]) => merge(raw, ticks[id], outcomes[id]));
  }

  async delete(id: string): Promise<boolean> {
    const [[, removed] = []] = (await this.redis.multi().hdel(this.key, id).hdel(this.ticks, id).hdel(this.outcomes, id).exec()) ?? [];
    return removed === 1;
  }

  async checked(now: number): Promise<number | null> {
    const before = await this.redis.getset(this.checks, String(now));
    return before === null ? null : Number(before);
  }

  async advance(id: string, from: number, tick: number, outcome: TickOutcome, fence?: Fence): Promise<boolean> {
    const holder = fence ? `${fence.id}|${fence.token}` : '';
    return (await this.redis.drvScheduleAdvance(this.ticks, this.outcomes, this.lease, id, from, tick, JSON.stringify(outcome), holder)) === 1;
  }
}

function merge(raw: string, tick: string | null | undefined, outcome: string | null | undefined): Schedule {
  const last: TickOutcome = outcome ? (JSON.parse(outcome) as TickOutcome) : { lastTaskId: null, lastError: null, missedTicks: 0, lastCatchUpTick: null };
  return { ...(JSON.parse(raw) as Omit<Schedule, 'lastTickAt' | keyof TickOutcome>), ...last, lastTickAt: Number(tick ?? 0) };
}
