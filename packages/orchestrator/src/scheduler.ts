import type { Fence, Logger, Schedule, ScheduleStore, TickOutcome } from '@drover/shared';
import { Cron } from 'croner';

/** How often the leader looks for due ticks. */
export const SCHEDULE_CHECK_MS = 250;

/**
 * No scheduler checked for longer than this: every orchestrator was down, and ticks in the gap
 * were missed. Longer than a leader takeover (a lease and a campaign interval, see
 * LeaderElection), so the ticks of a takeover are fired late rather than counted as missed.
 */
export function missedGapMs(leaderLeaseMs: number): number {
  return Math.max(2000, Math.ceil((leaderLeaseMs * 4) / 3) + 1000);
}
/** Most ticks fired for one schedule in one check (a replica that fell behind catches up over a few). */
const MAX_TICKS_PER_CHECK = 10;
/** Far back enough to find the latest tick of any cron after a long outage without walking every tick. */
const LOOKBACK_MS = 86_400_000;

export interface SchedulerOptions {
  store: ScheduleStore;
  /** Submits the schedule's task for `tick` (idempotent on schedule and tick); returns the task id. */
  fire: (schedule: Schedule, tick: number) => Promise<string>;
  logger: Logger;
  /** The leader's fence while this replica holds the lease, else null (it fires nothing). Default: always fires, unfenced. */
  fence?: () => Fence | null;
  /** See missedGapMs(); default for a 3 s lease. */
  missedGapMs?: number;
}

/**
 * Fires schedules. Every orchestrator replica runs one, and only the replica holding the leader
 * lease fires: a tick's task is submitted with the idempotency key `drover-schedule:<id>:<tick>`,
 * and the store's compare-and-set on the last tick, fenced by the leader's token, moves the
 * schedule on. A leader that dies between the two leaves the tick to its successor, whose submit
 * finds the task already made; a leader that was frozen past its lease and wakes up still
 * believing it leads may submit the same tick's task (the key makes it the same task), but its
 * compare-and-set is refused by the token. Each tick thus yields exactly one task.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.check()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'schedules: check failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, SCHEDULE_CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every schedule: fires what is due. Exposed for tests. */
  async check(now = Date.now()): Promise<void> {
    const fence = this.options.fence ? this.options.fence() : undefined;
    if (fence === null) return; // a follower: the leader fires
    const previous = await this.options.store.checked(now);
    // Every scheduler was down since `previous`: ticks before now were missed.
    const outage = previous !== null && now - previous > (this.options.missedGapMs ?? missedGapMs(3000));
    for (const schedule of await this.options.store.all()) {
      const due = dueTicks(schedule, now);
      if (due.length === 0) continue;
      let ticks = due;
      let missed = 0;
      let catchUp: number | null = schedule.lastCatchUpTick;
      if (outage) {
        const latest = due[due.length - 1]!;
        // The ticks of the outage are counted as missed (all of them: `due` holds only the last
        // few); with catchUp one the latest stands in for them.
        const all = countDueTicks(schedule, now);
        missed = schedule.catchUp === 'one' ? all - 1 : all;
        ticks = schedule.catchUp === 'one' ? [latest] : [];
        if (schedule.catchUp === 'one') catchUp = latest;
        if (ticks.length === 0) {
          await this.options.store.advance(schedule.id, schedule.lastTickAt, latest, { lastTaskId: schedule.lastTaskId, lastError: null, missedTicks: schedule.missedTicks + missed, lastCatchUpTick: catchUp }, fence);
          continue;
        }
      }
      let from = schedule.lastTickAt;
      for (const tick of ticks.slice(0, MAX_TICKS_PER_CHECK)) {
        const outcome: TickOutcome = { lastTaskId: schedule.lastTaskId, lastError: null, missedTicks: schedule.missedTicks + missed, lastCatchUpTick: catchUp };
        try {
          outcome.lastTaskId = await this.options.fire(schedule, tick);
        } catch (err) {
          outcome.lastError = err instanceof Error ? err.message : String(err);
          this.options.logger.warn({ schedule: schedule.id, tick, err }, 'schedules: a tick could not submit its task');
        }
        if (!(await this.options.store.advance(schedule.id, from, tick, outcome, fence))) break; // another replica moved it on, or this one lost the lease
        from = tick;
      }
    }
  }
}

/** Ticks of `schedule` after its last one and at or before `now`, oldest first (at most a few). */
export function dueTicks(schedule: Schedule, now: number): number[] {
  const after = schedule.lastTickAt || schedule.createdAt;
  if (schedule.everyMs !== null) {
    const every = schedule.everyMs;
    const first = Math.floor((after - schedule.createdAt) / every) + 1;
    const last = Math.floor((now - schedule.createdAt) / every);
    const out: number[] = [];
    for (let k = Math.max(first, last - MAX_TICKS_PER_CHECK + 1); k <= last; k++) out.push(schedule.createdAt + k * every);
    return out;
  }
  const cron = new Cron(schedule.cron!, { timezone: schedule.timezone });
  let from = after;
  // After a long outage, walk only the last day (enough to find the latest tick of anything
  // but a rarer-than-daily cron, which has few ticks to walk anyway).
  if (now - from > LOOKBACK_MS) from = Math.max(from, now - LOOKBACK_MS);
  const out: number[] = [];
  let next = cron.nextRun(new Date(from));
  while (next && next.getTime() <= now) {
    out.push(next.getTime());
    if (out.length > MAX_TICKS_PER_CHECK) out.shift();
    next = cron.nextRun(next);
  }
  return out;
}

/** How many ticks of `schedule` fell after its last one and at or before `now` (not capped as dueTicks is). */
export function countDueTicks(schedule: Schedule, now: number): number {
  const after = schedule.lastTickAt || schedule.createdAt;
  if (schedule.everyMs !== null) {
    const first = Math.floor((after - schedule.createdAt) / schedule.everyMs) + 1;
    const last = Math.floor((now - schedule.createdAt) / schedule.everyMs);
    return Math.max(0, last - first + 1);
  }
  const cron = new Cron(schedule.cron!, { timezone: schedule.timezone });
  let n = 0;
  // As dueTicks: past the last day, the outage's older ticks are not walked (nor counted).
  let next = cron.nextRun(new Date(now - after > LOOKBACK_MS ? now - LOOKBACK_MS : after));
  while (next && next.getTime() <= now) {
    n++;
    next = cron.nextRun(next);
  }
  return n;
}

/** The next tick after `now`, for display. */
export function nextTick(schedule: Schedule, now: number): number | null {
  if (schedule.everyMs !== null) return schedule.createdAt + (Math.floor((Math.max(now, schedule.lastTickAt) - schedule.createdAt) / schedule.everyMs) + 1) * schedule.everyMs;
  return new Cron(schedule.cron!, { timezone: schedule.timezone }).nextRun(new Date(Math.max(now, schedule.lastTickAt)))?.getTime() ?? null;
}
