import { EmbeddedGraphStore } from '@drover/graph';
import type { TaskRecord } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authB, expectProblem, jsonA, startApp } from './app-fixture.js';

/** GET /v1/tasks/:id/graph: the tenant's graph around a task, with the record's own view of its tree on top. */
describe('GET /v1/tasks/:id/graph', () => {
  let f: Fixture;
  let graph: EmbeddedGraphStore;
  afterEach(async () => {
    await f?.close();
    await graph?.close();
  });

  const submit = async (body: unknown): Promise<TaskRecord> => (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: JSON.stringify(body) })).json() as TaskRecord;
  const read = (id: string, query = '', headers = authA) => f.app.inject({ method: 'GET', url: `/v1/tasks/${id}/graph${query}`, headers });

  it('shows what handlers and the worker recorded, and the tree from the record before the graph has it', async () => {
    graph = new EmbeddedGraphStore();
    await graph.init();
    f = await startApp({ graph });
    const parent = await submit({ type: 'sleep', input: { ms: 60_000 } });
    const child = await submit({ type: 'echo', input: { n: 1 }, parentId: parent.id });
    // Nothing recorded yet: the record alone gives the task and its SPAWNED child.
    let res = await read(parent.id);
    expect(res.statusCode, res.body).toBe(200);
    let body = res.json() as { nodes: Array<{ label: string; id: string; props: Record<string, unknown> }>; edges: Array<{ from: { id: string }; relation: string; to: { id: string; label: string } }> };
    expect(body.nodes.find((n) => n.id === parent.id)?.props).toMatchObject({ type: 'sleep', status: 'queued' });
    expect(body.edges).toEqual([{ from: { label: 'Task', id: parent.id }, relation: 'SPAWNED', to: { label: 'Task', id: child.id }, props: {} }]);

    // What the worker and a handler record (tenant a): the tree, the agent type, an artifact.
    await graph.recordTasks('a', [
      { id: parent.id, type: 'sleep', status: 'running' },
      { id: child.id, type: 'echo', status: 'succeeded', parentId: parent.id },
    ]);
    await graph.link('a', { label: 'Task', id: parent.id }, 'PRODUCED', { label: 'Artifact', id: 'report-1', props: { kind: 'report' } });
    res = await read(parent.id);
    body = res.json();
    const relations = body.edges.filter((e) => e.from.id === parent.id).map((e) => `${e.relation}->${e.to.label}:${e.to.id}`).sort();
    expect(relations).toEqual([`OF_TYPE->AgentType:sleep`, 'PRODUCED->Artifact:report-1', `SPAWNED->Task:${child.id}`]);
    // No duplicate of the SPAWNED relation the record also knows; the status is the record's, not the graph's.
    expect(body.nodes.find((n) => n.id === parent.id)?.props['status']).toBe('queued');

    // Filters: one relation type, one direction, depth.
    body = (await read(parent.id, '?relation=PRODUCED')).json();
    expect(body.edges.map((e) => e.relation)).toEqual(['PRODUCED']);
    body = (await read(child.id, '?direction=in')).json();
    expect(body.edges.map((e) => `${e.from.id}-${e.relation}`)).toEqual([`${parent.id}-SPAWNED`]);
    body = (await read(child.id, '?depth=2')).json();
    expect(body.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['report-1', 'sleep', 'echo']));
  });

  it('is tenant-scoped and refuses bad queries with a problem', async () => {
    graph = new EmbeddedGraphStore();
    await graph.init();
    f = await startApp({ graph });
    const task = await submit({ type: 'echo', input: { n: 2 } });
    await graph.link('a', { label: 'Task', id: task.id }, 'PRODUCED', { label: 'Artifact', id: 'secret', props: { kind: 'note' } });
    // Tenant b: the same as a task that does not exist, and b's graph holds nothing of a's.
    expectProblem(await read(task.id, '', authB), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expect((await graph.neighbours('b', { label: 'Task', id: task.id })).nodes).toEqual([]);
    expectProblem(await read(task.id, '?depth=4'), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await read(task.id, '?relation=x%60)%20DETACH%20DELETE%20n'), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await read(task.id, '?direction=sideways'), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await read('..%2F..%2Fetc'), 400, 'DROVER_ERR_BAD_TASK_ID');
  });

  it('without a graph store, answers from the task record', async () => {
    f = await startApp();
    const parent = await submit({ type: 'sleep', input: { ms: 60_000 } });
    const child = await submit({ type: 'echo', input: { n: 3 }, parentId: parent.id });
    const body = (await read(child.id)).json() as { nodes: Array<{ id: string }>; edges: Array<{ relation: string }> };
    expect(body.nodes.map((n) => n.id).sort()).toEqual([child.id, parent.id].sort());
    expect(body.edges.map((e) => e.relation)).toEqual(['SPAWNED']);
  });
});
