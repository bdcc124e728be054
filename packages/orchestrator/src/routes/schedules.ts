import { randomBytes } from 'node:crypto';
import { NAME_PATTERN, PRIORITY_MAX, PRIORITY_MIN, type Schedule } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, type Static, Type } from '@fastify/type-provider-typebox';
import { Cron } from 'croner';
import { ProblemRef } from '../api-schemas.js';
import type { DroverContext } from '../drover-context.js';
import { backendFailure, problemError } from '../problem.js';
import { nextTick } from '../scheduler.js';
import { submitAdmitted } from '../admitted-submit.js';

const ERRORS = { '4xx': ProblemRef, '5xx': ProblemRef };
/** Most schedules one tenant may hold: the ticker reads them all every 250 ms. */
export const SCHEDULES_PER_TENANT = 1000;

const ScheduledTaskBody = Type.Object(
  {
    type: Type.String({ pattern: NAME_PATTERN }),
    input: Type.Optional(Type.Unknown()),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
  },
  { additionalProperties: false, description: 'What each tick submits: the fields of POST /v1/tasks a schedule may set' },
);

const ScheduleBody = Type.Object(
  {
    cron: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Cron expression: 5 fields, or 6 with seconds first (e.g. "0 */15 * * * *")' })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone of the cron expression; default UTC' })),
    everyMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 31_536_000_000, description: 'Fixed interval instead of a cron expression (ticks at creation + k × everyMs)' })),
    catchUp: Type.Optional(Type.Union([Type.Literal('one'), Type.Literal('none')], { description: 'A tick missed while every orchestrator was down: fire it once on recovery (one, the default) or skip it (none)' })),
    task: ScheduledTaskBody,
  },
  { additionalProperties: false },
);

const ScheduleView = Type.Object(
  {
    id: Type.String(),
    cron: Type.Union([Type.String(), Type.Null()]),
    timezone: Type.String(),
    everyMs: Type.Union([Type.Integer(), Type.Null()]),
    catchUp: Type.String(),
    task: Type.Unknown(),
    createdAt: Type.String({ format: 'date-time' }),
    lastTickAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastTaskId: Type.Union([Type.String(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    missedTicks: Type.Integer({ description: 'Ticks skipped because every orchestrator was down at their time' }),
    lastCatchUpAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The last tick fired on recovery in place of an outage\'s ticks (catchUp: one)' }),
    nextTickAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Schedule' },
);

const ScheduleParams = Type.Object({ id: Type.String({ pattern: '^sch_[A-Za-z0-9_-]{1,64}$' }) });

/** Schedules: cron expressions (with time zones) or fixed intervals that submit a task at each tick. */
export const scheduleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.drover;
  const store = ctx.backend.schedules;

  app.post(
    '/schedules',
    {
      schema: {
        summary: 'Create a schedule',
        description:
          'Exactly one of cron or everyMs. Each tick submits the task once, whatever the number of orchestrator replicas; a tick missed while every replica was down fires once on recovery (catchUp: one) or not at all (none). The task is checked now as a submission is, and again at each tick.',
        tags: ['schedules'],
        body: ScheduleBody,
        response: { 201: ScheduleView, ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if ((body.cron === undefined) === (body.everyMs === undefined)) {
        throw problemError('VALIDATION', 'Give exactly one of cron (a cron expression) and everyMs (an interval).', [{ path: body.cron === undefined ? '/everyMs' : '/cron', message: 'exactly one of cron and everyMs' }]);
      }
      const timezone = body.timezone ?? 'UTC';
      if (!validZone(timezone)) throw problemError('VALIDATION', `Unknown time zone ${JSON.stringify(timezone)}; use an IANA name such as Europe/Paris or UTC.`, [{ path: '/timezone', message: 'is not an IANA time zone' }]);
      if (body.cron !== undefined) {
        try {
          new Cron(body.cron, { timezone }).nextRun();
        } catch (err) {
          throw problemError('VALIDATION', `cron ${JSON.stringify(body.cron)} is not a cron expression: ${err instanceof Error ? err.message : String(err)}`, [{ path: '/cron', message: 'is not a cron expression' }]);
        }
      }
      // The task must be one that could be submitted now (known type, valid input, a queue that exists).
      await ctx.submissions.build(body.task, request.tenant, undefined, '/task');
      const mine = (await store.all().catch(backendFailure)).filter((s) => s.tenant === request.tenant);
      if (mine.length >= SCHEDULES_PER_TENANT) {
        throw problemError('VALIDATION', `This tenant already has ${mine.length} schedules, the most one may hold; delete some first.`, [{ path: '', message: 'too many schedules' }]);
      }
      const now = Date.now();
      const schedule: Schedule = {
        id: `sch_${randomBytes(12).toString('base64url')}`,
        tenant: request.tenant,
        cron: body.cron ?? null,
        timezone,
        everyMs: body.everyMs ?? null,
        catchUp: body.catchUp ?? 'one',
        task: body.task,
        createdAt: now,
        lastTickAt: now,
        lastTaskId: null,
        lastError: null,
        missedTicks: 0,
        lastCatchUpTick: null,
      };
      await store.put(schedule).catch(backendFailure);
      reply.code(201);
      return view(schedule, now);
    },
  );

  app.get(
    '/schedules',
    { schema: { summary: "List the caller's schedules", tags: ['schedules'], response: { 200: Type.Object({ schedules: Type.Array(ScheduleView) }), ...ERRORS } } },
    async (request) => {
      const now = Date.now();
      const mine = (await store.all().catch(backendFailure)).filter((s) => s.tenant === request.tenant);
      mine.sort((a, b) => a.createdAt - b.createdAt);
      return { schedules: mine.map((s) => view(s, now)) };
    },
  );

  app.get(
    '/schedules/:id',
    { schema: { summary: 'Read a schedule', tags: ['schedules'], params: ScheduleParams, response: { 200: ScheduleView, ...ERRORS } }, config: { badParamsKind: 'SCHEDULE_NOT_FOUND' } },
    async (request) => view(await ownSchedule(ctx, request.params.id, request.tenant), Date.now()),
  );

  app.delete(
    '/schedules/:id',
    {
      schema: { summary: 'Delete a schedule', description: 'No tick fires after the answer; tasks already submitted are not touched.', tags: ['schedules'], params: ScheduleParams, response: { 200: Type.Object({ id: Type.String(), deleted: Type.Boolean() }), ...ERRORS } },
      config: { badParamsKind: 'SCHEDULE_NOT_FOUND' },
    },
    async (request) => {
      const s = await ownSchedule(ctx, request.params.id, request.tenant);
      return { id: s.id, deleted: await store.delete(s.id).catch(backendFailure) };
    },
  );
};

/** Submits a schedule's task for one tick, as its tenant, idempotent on (schedule, tick). */
export async function fireSchedule(ctx: DroverContext, schedule: Schedule, tick: number): Promise<string> {
  const req = await ctx.submissions.build(schedule.task as Static<typeof ScheduledTaskBody>, schedule.tenant, `drover-schedule:${schedule.id}:${tick}`, '');
  return (await submitAdmitted(ctx, req)).task.id;
}

async function ownSchedule(ctx: DroverContext, id: string, tenant: string): Promise<Schedule> {
  const s = await ctx.backend.schedules.get(id).catch(backendFailure);
  if (!s || s.tenant !== tenant) throw problemError('SCHEDULE_NOT_FOUND', `No schedule ${JSON.stringify(id)} for this tenant.`);
  return s;
}

function view(s: Schedule, now: number) {
  const next = nextTick(s, now);
  return {
    id: s.id,
    cron: s.cron,
    timezone: s.timezone,
    everyMs: s.everyMs,
    catchUp: s.catchUp,
    task: s.task,
    createdAt: new Date(s.createdAt).toISOString(),
    lastTickAt: s.lastTickAt > s.createdAt ? new Date(s.lastTickAt).toISOString() : null,
    lastTaskId: s.lastTaskId,
    lastError: s.lastError,
    missedTicks: s.missedTicks,
    lastCatchUpAt: s.lastCatchUpTick === null ? null : new Date(s.lastCatchUpTick).toISOString(),
    nextTickAt: next === null ? null : new Date(next).toISOString(),
  };
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
