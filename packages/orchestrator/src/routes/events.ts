import { type Backend, FINISHED_STATUSES, TASK_STATUSES, type TaskStatus, readTree } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ProblemRef, TaskIdParams } from '../api-schemas.js';
import type { LoggedEvent } from '../event-log.js';
import { backendFailure } from '../problem.js';
import { SseStream } from '../sse-stream.js';
import { ownTask } from './task-access.js';

const ERRORS = { '4xx': ProblemRef, '5xx': ProblemRef };
const LastEventId = Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 300, description: 'Resume after this event id' })) });
const STREAM_DESCRIPTION =
  'text/event-stream of `state` events (data: taskId, queue, status, at) `progress` events (data: taskId, queue, progress, at) and `log` events, lines the task logged at info and above (data: taskId, queue, level, msg, at). Each event has an id; reconnect with the Last-Event-ID header to resume with nothing missed and nothing twice, within DROVER_EVENT_RETENTION_SECONDS. Comments (": keep-alive") every DROVER_SSE_KEEPALIVE_MS keep idle streams open.';

/** GET /v1/tasks/:id/events and GET /v1/events: Server-Sent Events from the event log. */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { backend, events, config } = app.drover;
  const keepAliveMs = config.http.sseKeepAliveMs;
  // Open streams end when the app closes, or they would hold the server open.
  const open = new Set<SseStream>();
  const track = (stream: SseStream) => {
    open.add(stream);
    void stream.closed.then(() => open.delete(stream));
    return stream;
  };
  app.addHook('preClose', async () => {
    for (const s of open) s.end();
  });

  app.get(
    '/tasks/:id/events',
    {
      schema: {
        summary: "Follow a task's events (SSE)",
        description: `${STREAM_DESCRIPTION} With ?children=true the events of every descendant come too. The stream ends after the task's final state event.`,
        tags: ['tasks'],
        params: TaskIdParams,
        querystring: Type.Object({ children: Type.Optional(Type.Boolean({ description: "Include the events of the task's descendants" })) }),
        headers: LastEventId,
        response: { 200: Type.String({ description: 'text/event-stream' }), ...ERRORS },
      },
      config: { badParamsKind: 'BAD_TASK_ID' },
    },
    async (request, reply) => {
      const rootId = request.params.id;
      const root = await ownTask(backend, rootId, request.tenant);
      const members = new Set([rootId]);
      if (request.query.children) {
        const { tree } = await readTree(backend, root).catch(backendFailure);
        const walk = (n: typeof tree): void => {
          members.add(n.id);
          n.children.forEach(walk);
        };
        walk(tree);
      }
      const stream = track(new SseStream(reply, keepAliveMs));
      const lastId = request.headers['last-event-id'];
      const written = new Set<string>();
      let finished = false;
      const write = (e: LoggedEvent) => {
        if (written.has(e.id)) return;
        written.add(e.id);
        stream.send(e.event.kind, dataOf(e), e.id);
        if (e.event.id === rootId && e.event.kind === 'state' && e.event.status && FINISHED_STATUSES.has(e.event.status)) finished = true;
      };
      // Live events are held until the replay is written, so order is kept and none is lost.
      const held: LoggedEvent[] = [];
      let replaying = true;
      let chain = Promise.resolve();
      const onLive = (e: LoggedEvent) => {
        if (replaying) held.push(e);
        else chain = chain.then(() => consider(e));
      };
      const consider = async (e: LoggedEvent) => {
        if (!stream.open) return;
        if (!members.has(e.event.id)) {
          // A task not seen before: a new descendant when its parent is in the tree.
          if (!request.query.children || e.event.kind !== 'state' || (e.event.status !== 'queued' && e.event.status !== 'delayed')) return;
          const r = await backend.get(e.event.id).catch(() => null);
          if (!r?.parentId || !members.has(r.parentId)) return;
          members.add(r.id);
        }
        write(e);
        if (finished) stream.end();
      };
      const off = events.listen(onLive);
      void stream.closed.then(off);
      const replay = request.query.children ? events.allEvents(lastId).filter((e) => members.has(e.event.id)) : events.taskEvents(rootId, lastId);
      if (replay.length === 0 && lastId === undefined) {
        // History began after this task's last event (an older task, a new replica): its state now.
        stream.send('state', { taskId: root.id, queue: root.queue, status: root.status, at: new Date().toISOString() });
        if (FINISHED_STATUSES.has(root.status)) finished = true;
      }
      for (const e of replay) write(e);
      replaying = false;
      for (const e of held.splice(0)) chain = chain.then(() => consider(e));
      await chain;
      if (!finished && FINISHED_STATUSES.has(root.status)) {
        // It ended before this stream opened and the events a resuming client asked for have aged
        // out (DROVER_EVENT_RETENTION_SECONDS): no event will come, so its final state, then the end.
        stream.send('state', { taskId: root.id, queue: root.queue, status: root.status, at: new Date().toISOString() });
        finished = true;
      }
      if (finished) stream.end();
      await stream.closed;
    },
  );

  app.get(
    '/events',
    {
      schema: {
        summary: "Follow the tenant's task events (SSE)",
        description: `${STREAM_DESCRIPTION} Filters: type, queue, status (state events with that status only). The stream does not end by itself.`,
        tags: ['tasks'],
        querystring: Type.Object(
          {
            type: Type.Optional(Type.String({ maxLength: 64 })),
            queue: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)))),
          },
          { additionalProperties: false },
        ),
        headers: LastEventId,
        response: { 200: Type.String({ description: 'text/event-stream' }), ...ERRORS },
      },
    },
    async (request, reply) => {
      const { type, queue, status } = request.query;
      const tenant = request.tenant;
      const owners = new TaskOwners(backend);
      const stream = track(new SseStream(reply, keepAliveMs));
      const wanted = async (e: LoggedEvent) => {
        if (queue && e.event.queue !== queue) return false;
        if (status && (e.event.kind !== 'state' || e.event.status !== (status as TaskStatus))) return false;
        const owner = await owners.of(e.event.id);
        return owner !== null && owner.tenant === tenant && (!type || owner.type === type);
      };
      const held: LoggedEvent[] = [];
      let replaying = true;
      let chain = Promise.resolve();
      const send = async (e: LoggedEvent) => {
        if (stream.open && (await wanted(e))) stream.send(e.event.kind, dataOf(e), e.id);
      };
      const off = events.listen((e) => {
        if (replaying) held.push(e);
        else chain = chain.then(() => send(e));
      });
      void stream.closed.then(off);
      const replayed = new Set<string>();
      if (request.headers['last-event-id'] !== undefined) {
        for (const e of events.allEvents(request.headers['last-event-id'])) {
          replayed.add(e.id);
          await send(e);
        }
      }
      replaying = false;
      for (const e of held.splice(0)) if (!replayed.has(e.id)) chain = chain.then(() => send(e));
      await stream.closed;
    },
  );
};

function dataOf(e: LoggedEvent): Record<string, unknown> {
  const { kind, id, queue, status, progress, log, at } = e.event;
  const when = new Date(at).toISOString();
  if (kind === 'state') return { taskId: id, queue, status, at: when };
  if (kind === 'log') return { taskId: id, queue, level: log?.level, msg: log?.msg, at: when };
  return { taskId: id, queue, progress, at: when };
}

/** Tenant and type of the tasks a tenant stream sees, read once per task (most recent 10,000). */
class TaskOwners {
  private readonly known = new Map<string, { tenant: string; type: string } | null>();

  constructor(private readonly backend: Backend) {}

  async of(id: string): Promise<{ tenant: string; type: string } | null> {
    if (this.known.has(id)) return this.known.get(id)!;
    const r = await this.backend.get(id).catch(() => null);
    const owner = r ? { tenant: r.tenant, type: r.type } : null;
    this.known.set(id, owner);
    if (this.known.size > 10_000) this.known.delete(this.known.keys().next().value!);
    return owner;
  }
}
