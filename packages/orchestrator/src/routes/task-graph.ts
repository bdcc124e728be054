import type { GraphEdge, GraphNode, GraphStore, Neighbourhood } from '@drover/graph';
import type { TaskRecord } from '@drover/shared';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ProblemRef, TaskIdParams } from '../api-schemas.js';
import { backendFailure } from '../problem.js';
import { ownTask } from './task-access.js';

const Props = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]));
const NodeKey = Type.Object({ label: Type.String(), id: Type.String() });
const TaskGraphAnswer = Type.Object(
  {
    nodes: Type.Array(Type.Object({ label: Type.String(), id: Type.String(), props: Props })),
    edges: Type.Array(Type.Object({ from: NodeKey, relation: Type.String(), to: NodeKey, props: Props })),
  },
  { $id: 'TaskGraph' },
);
const GraphQuery = Type.Object({
  depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 3, default: 1, description: 'Hops from the task, 1-3' })),
  relation: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,39}$', description: 'Follow only relations of this type, e.g. SPAWNED or PRODUCED' })),
  direction: Type.Optional(Type.Union([Type.Literal('out'), Type.Literal('in'), Type.Literal('both')], { description: 'Which way relations are followed; default both' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 500, default: 100, description: 'Most nodes besides the task, nearest first' })),
});

/**
 * GET /v1/tasks/:id/graph: the task's neighbourhood in the tenant's graph (its parent and children,
 * its agent type, the artifacts it produced, and what handlers linked to it). The task's own node
 * and its direct SPAWNED relations come from the task record, so they are current even before the
 * worker's batched graph write lands, and present with the embedded graph of another process.
 */
export function taskGraphRoutes(graph: GraphStore | undefined): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { backend } = app.drover;
    app.get(
      '/tasks/:id/graph',
      {
        schema: {
          summary: "A task's graph neighbourhood",
          description:
            'Nodes and relations around the task in its tenant\'s graph: Task nodes linked by SPAWNED, the task\'s AgentType (OF_TYPE), Artifacts it PRODUCED and whatever its handler linked (ctx.graph). depth 1-3, optionally one relation type and direction.',
          tags: ['tasks'],
          params: TaskIdParams,
          querystring: GraphQuery,
          response: { 200: TaskGraphAnswer, '4xx': ProblemRef, '5xx': ProblemRef },
        },
        config: { badParamsKind: 'BAD_TASK_ID' },
      },
      async (request) => {
        const task = await ownTask(backend, request.params.id, request.tenant);
        const q = request.query;
        const stored: Neighbourhood = graph
          ? await graph.neighbours(task.tenant, { label: 'Task', id: task.id }, { depth: q.depth ?? 1, ...(q.relation ? { relation: q.relation } : {}), ...(q.direction ? { direction: q.direction } : {}), limit: q.limit ?? 100 }).catch(backendFailure)
          : { nodes: [], edges: [] };
        return withRecord(stored, task, q);
      },
    );
  };
}

/** Overlays what the record knows: the task's current status and its SPAWNED relations to parent and children. */
function withRecord(stored: Neighbourhood, task: TaskRecord, q: { relation?: string; direction?: string; limit?: number }): Neighbourhood {
  const nodes = new Map<string, GraphNode>(stored.nodes.map((n) => [`${n.label}\0${n.id}`, n]));
  const self = nodes.get(`Task\0${task.id}`);
  nodes.set(`Task\0${task.id}`, { label: 'Task', id: task.id, props: { ...self?.props, type: task.type, status: task.status } });
  const edges: GraphEdge[] = [...stored.edges];
  const has = (from: string, to: string) => edges.some((e) => e.relation === 'SPAWNED' && e.from.id === from && e.to.id === to && e.from.label === 'Task' && e.to.label === 'Task');
  if (q.relation === undefined || q.relation === 'SPAWNED') {
    const limit = q.limit ?? 100;
    const add = (from: string, to: string, other: string) => {
      if (!nodes.has(`Task\0${other}`) && nodes.size - 1 >= limit) return;
      if (!nodes.has(`Task\0${other}`)) nodes.set(`Task\0${other}`, { label: 'Task', id: other, props: {} });
      if (!has(from, to)) edges.push({ from: { label: 'Task', id: from }, relation: 'SPAWNED', to: { label: 'Task', id: to }, props: {} });
    };
    if (task.parentId && q.direction !== 'out') add(task.parentId, task.id, task.parentId);
    if (q.direction !== 'in') for (const child of task.children) add(task.id, child, child);
  }
  return { nodes: [...nodes.values()], edges };
}
