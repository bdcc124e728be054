import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GraphEdge, GraphStore, Neighbourhood } from '../../src/index.js';

export interface ConformanceTarget {
  /** A fresh store; the suite closes it after each test. */
  open: () => Promise<GraphStore>;
  /** Removes what a test wrote under a tenant (a shared server outlives the test). */
  dropTenant?: (tenant: string) => Promise<void>;
}

const INJECTION = '}) MATCH (x) DETACH DELETE x //';
const ADVERSARIAL_IDS = [`it's "quoted"`, 'back`tick`', INJECTION, 'ünïcødé ☃ 🚀 名前', '$tenant', 'a:b', ' '];

const edgeText = (e: GraphEdge): string => `${e.from.label}:${e.from.id} -${e.relation}-> ${e.to.label}:${e.to.id}`;
const edgeSet = (n: Neighbourhood): string[] => n.edges.map(edgeText).sort();
const nodeSet = (n: Neighbourhood): string[] => n.nodes.map((node) => `${node.label}:${node.id}`).sort();

/** Behaviour every GraphStore backend must show; run against each with its own target. */
export function graphStoreConformance(name: string, target: ConformanceTarget): void {
  describe(`GraphStore conformance: ${name}`, () => {
    let store: GraphStore;
    let tenants: string[];
    // Each test owns its tenants, so runs against one shared server never see each other.
    const tenant = (tag = 'a'): string => {
      const t = `t-${tag}-${randomUUID()}`;
      tenants.push(t);
      return t;
    };

    beforeEach(async () => {
      tenants = [];
      store = await target.open();
    });

    afterEach(async () => {
      await store.close();
      for (const t of tenants) await target.dropTenant?.(t);
    });

    describe('recordTask', () => {
      it('records a task with its type and its parent, creating the parent as a stub', async () => {
        const t = tenant();
        await store.recordTask(t, { id: 'child', type: 'scrape', status: 'queued', parentId: 'root', createdAt: '2026-01-01T00:00:00.000Z' });

        const child = await store.neighbours(t, { label: 'Task', id: 'child' });
        expect(child.nodes[0]).toEqual({ label: 'Task', id: 'child', props: { type: 'scrape', status: 'queued', createdAt: '2026-01-01T00:00:00.000Z' } });
        expect(nodeSet(child)).toEqual(['AgentType:scrape', 'Task:child', 'Task:root']);
        expect(edgeSet(child)).toEqual(['Task:child -OF_TYPE-> AgentType:scrape', 'Task:root -SPAWNED-> Task:child']);
        expect(child.nodes.find((n) => n.label === 'AgentType')?.props).toEqual({ name: 'scrape' });
        // The stub parent exists before its own record, with no properties yet.
        expect(child.nodes.find((n) => n.id === 'root')?.props).toEqual({});

        await store.recordTask(t, { id: 'root', type: 'plan', status: 'running' });
        const root = await store.neighbours(t, { label: 'Task', id: 'root' }, { direction: 'out' });
        expect(root.nodes[0]?.props).toEqual({ type: 'plan', status: 'running' });
        expect(edgeSet(root)).toEqual(['Task:root -OF_TYPE-> AgentType:plan', 'Task:root -SPAWNED-> Task:child']);
      });

      it('builds a tree from a batch, and re-recording updates without duplicating relations', async () => {
        const t = tenant();
        await store.recordTasks(t, [
          { id: 'r', type: 'plan', status: 'waiting' },
          { id: 'c1', type: 'scrape', status: 'queued', parentId: 'r' },
          { id: 'c2', type: 'scrape', status: 'queued', parentId: 'r' },
          { id: 'g1', type: 'summarise', status: 'queued', parentId: 'c1' },
        ]);
        const tree = await store.neighbours(t, { label: 'Task', id: 'r' }, { depth: 2, relation: 'SPAWNED', direction: 'out' });
        expect(nodeSet(tree)).toEqual(['Task:c1', 'Task:c2', 'Task:g1', 'Task:r']);
        expect(edgeSet(tree)).toEqual(['Task:c1 -SPAWNED-> Task:g1', 'Task:r -SPAWNED-> Task:c1', 'Task:r -SPAWNED-> Task:c2']);

        await store.recordTasks(t, [
          { id: 'c1', type: 'scrape', status: 'succeeded', parentId: 'r' },
          { id: 'c1', type: 'scrape', status: 'succeeded', parentId: 'r' },
        ]);
        const again = await store.neighbours(t, { label: 'Task', id: 'c1' });
        expect(again.nodes[0]?.props).toMatchObject({ status: 'succeeded', type: 'scrape' });
        expect(edgeSet(again)).toEqual(['Task:c1 -OF_TYPE-> AgentType:scrape', 'Task:c1 -SPAWNED-> Task:g1', 'Task:r -SPAWNED-> Task:c1']);

        // Both scrape tasks share one AgentType node.
        const type = await store.neighbours(t, { label: 'AgentType', id: 'scrape' }, { direction: 'in' });
        expect(nodeSet(type)).toEqual(['AgentType:scrape', 'Task:c1', 'Task:c2']);
      });

      it('keeps one OF_TYPE relation when a task is re-recorded with another type', async () => {
        const t = tenant();
        await store.recordTask(t, { id: 'x', type: 'old', status: 'queued' });
        await store.recordTask(t, { id: 'x', type: 'new', status: 'running' });
        const x = await store.neighbours(t, { label: 'Task', id: 'x' }, { relation: 'OF_TYPE' });
        expect(edgeSet(x)).toEqual(['Task:x -OF_TYPE-> AgentType:new']);
      });

      it('keeps the stored createdAt when a later record omits it', async () => {
        const t = tenant();
        await store.recordTask(t, { id: 'x', type: 'k', status: 'queued', createdAt: '2026-02-03T04:05:06.000Z' });
        await store.recordTask(t, { id: 'x', type: 'k', status: 'running' });
        const x = await store.neighbours(t, { label: 'Task', id: 'x' }, { limit: 0 });
        expect(x.nodes).toEqual([{ label: 'Task', id: 'x', props: { type: 'k', status: 'running', createdAt: '2026-02-03T04:05:06.000Z' } }]);
      });
    });

    describe('link', () => {
      it('merges: linking twice gives one relation, properties merge and null removes one', async () => {
        const t = tenant();
        const task = { label: 'Task', id: 'task-1' };
        await store.link(t, task, 'PRODUCED', { label: 'Artifact', id: 'art-1', props: { kind: 'html', bytes: 10, cached: true } }, { step: 1 });
        await store.link(t, task, 'PRODUCED', { label: 'Artifact', id: 'art-1', props: { bytes: 12, cached: null } }, { step: 2, note: 'again' });

        const n = await store.neighbours(t, task);
        expect(n.edges).toEqual([{ from: task, relation: 'PRODUCED', to: { label: 'Artifact', id: 'art-1' }, props: { step: 2, note: 'again' } }]);
        expect(n.nodes).toEqual([
          { label: 'Task', id: 'task-1', props: {} },
          { label: 'Artifact', id: 'art-1', props: { kind: 'html', bytes: 12 } },
        ]);
      });

      it('links many across labels and relations in one call', async () => {
        const t = tenant();
        await store.linkMany(t, [
          { from: { label: 'Task', id: 'a' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'p1' } },
          { from: { label: 'Task', id: 'a' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'p2' } },
          { from: { label: 'Artifact', id: 'p1' }, relation: 'MENTIONS', to: { label: 'Entity', id: 'acme', props: { name: 'Acme' } } },
          { from: { label: 'Task', id: 'a' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'p1' } },
        ]);
        const n = await store.neighbours(t, { label: 'Task', id: 'a' }, { depth: 2, direction: 'out' });
        expect(nodeSet(n)).toEqual(['Artifact:p1', 'Artifact:p2', 'Entity:acme', 'Task:a']);
        expect(edgeSet(n)).toEqual(['Artifact:p1 -MENTIONS-> Entity:acme', 'Task:a -PRODUCED-> Artifact:p1', 'Task:a -PRODUCED-> Artifact:p2']);
        expect(n.nodes.find((x) => x.label === 'Entity')?.props).toEqual({ name: 'Acme' });
      });

      it('tells nodes apart by label: the same id under two labels is two nodes', async () => {
        const t = tenant();
        await store.link(t, { label: 'Task', id: 'same' }, 'PRODUCED', { label: 'Artifact', id: 'same' });
        const n = await store.neighbours(t, { label: 'Artifact', id: 'same' });
        expect(nodeSet(n)).toEqual(['Artifact:same', 'Task:same']);
        expect(n.nodes[0]).toMatchObject({ label: 'Artifact', id: 'same' });
      });

      it('stores ids and values verbatim, whatever characters they hold', async () => {
        const t = tenant();
        for (const id of ADVERSARIAL_IDS) {
          await store.link(t, { label: 'Task', id }, 'PRODUCED', { label: 'Artifact', id: `${id}!`, props: { text: id } }, { why: id });
        }
        for (const id of ADVERSARIAL_IDS) {
          const n = await store.neighbours(t, { label: 'Task', id });
          expect(n.nodes).toEqual([
            { label: 'Task', id, props: {} },
            { label: 'Artifact', id: `${id}!`, props: { text: id } },
          ]);
          expect(n.edges[0]?.props).toEqual({ why: id });
        }
      });
    });

    describe('neighbours', () => {
      // a -> b -> c -> d, a -> e (REFERS), x -> a (SPAWNED), b -> e (CITES)
      const chain = async (t: string): Promise<void> => {
        await store.linkMany(t, [
          { from: { label: 'Node', id: 'a' }, relation: 'NEXT', to: { label: 'Node', id: 'b' } },
          { from: { label: 'Node', id: 'b' }, relation: 'NEXT', to: { label: 'Node', id: 'c' } },
          { from: { label: 'Node', id: 'c' }, relation: 'NEXT', to: { label: 'Node', id: 'd' } },
          { from: { label: 'Node', id: 'a' }, relation: 'REFERS', to: { label: 'Node', id: 'e' } },
          { from: { label: 'Node', id: 'x' }, relation: 'SPAWNED', to: { label: 'Node', id: 'a' } },
          { from: { label: 'Node', id: 'b' }, relation: 'CITES', to: { label: 'Node', id: 'e' } },
        ]);
      };
      const a = { label: 'Node', id: 'a' };

      it('returns the start node first, then the nodes within depth', async () => {
        const t = tenant();
        await chain(t);
        const d1 = await store.neighbours(t, a);
        expect(d1.nodes[0]).toEqual({ label: 'Node', id: 'a', props: {} });
        expect(nodeSet(d1)).toEqual(['Node:a', 'Node:b', 'Node:e', 'Node:x']);
        // b -CITES-> e joins two neighbours but was not followed within one hop.
        expect(edgeSet(d1)).toEqual(['Node:a -NEXT-> Node:b', 'Node:a -REFERS-> Node:e', 'Node:x -SPAWNED-> Node:a']);

        const d2 = await store.neighbours(t, a, { depth: 2 });
        expect(nodeSet(d2)).toEqual(['Node:a', 'Node:b', 'Node:c', 'Node:e', 'Node:x']);
        expect(edgeSet(d2)).toEqual(['Node:a -NEXT-> Node:b', 'Node:a -REFERS-> Node:e', 'Node:b -CITES-> Node:e', 'Node:b -NEXT-> Node:c', 'Node:x -SPAWNED-> Node:a']);

        const d3 = await store.neighbours(t, a, { depth: 3, direction: 'out' });
        expect(nodeSet(d3)).toEqual(['Node:a', 'Node:b', 'Node:c', 'Node:d', 'Node:e']);
      });

      it('follows only the relation asked for, in the direction asked for', async () => {
        const t = tenant();
        await chain(t);
        const next = await store.neighbours(t, a, { depth: 3, relation: 'NEXT' });
        expect(nodeSet(next)).toEqual(['Node:a', 'Node:b', 'Node:c', 'Node:d']);
        expect(next.edges.every((e) => e.relation === 'NEXT')).toBe(true);
        expect(next.edges).toHaveLength(3);

        const out = await store.neighbours(t, a, { direction: 'out' });
        expect(nodeSet(out)).toEqual(['Node:a', 'Node:b', 'Node:e']);
        const into = await store.neighbours(t, a, { direction: 'in' });
        expect(nodeSet(into)).toEqual(['Node:a', 'Node:x']);
        expect(edgeSet(into)).toEqual(['Node:x -SPAWNED-> Node:a']);
        const intoC = await store.neighbours(t, { label: 'Node', id: 'c' }, { direction: 'in', depth: 3 });
        expect(nodeSet(intoC)).toEqual(['Node:a', 'Node:b', 'Node:c', 'Node:x']);

        const none = await store.neighbours(t, a, { relation: 'UNUSED' });
        expect(none).toEqual({ nodes: [{ label: 'Node', id: 'a', props: {} }], edges: [] });
      });

      it('cuts at limit, nearest nodes first, keeping only relations among the nodes returned', async () => {
        const t = tenant();
        await store.linkMany(t, [
          ...['n3', 'n1', 'n2'].map((id) => ({ from: { label: 'Hub', id: 'h' }, relation: 'HAS', to: { label: 'Leaf', id } })),
          { from: { label: 'Leaf', id: 'n1' }, relation: 'HAS', to: { label: 'Leaf', id: 'far' } },
        ]);
        const two = await store.neighbours(t, { label: 'Hub', id: 'h' }, { depth: 2, limit: 2 });
        expect(two.nodes.map((n) => n.id)).toEqual(['h', 'n1', 'n2']);
        expect(edgeSet(two)).toEqual(['Hub:h -HAS-> Leaf:n1', 'Hub:h -HAS-> Leaf:n2']);

        const four = await store.neighbours(t, { label: 'Hub', id: 'h' }, { depth: 2, limit: 4 });
        expect(four.nodes.map((n) => n.id)).toEqual(['h', 'n1', 'n2', 'n3', 'far']);

        const zero = await store.neighbours(t, { label: 'Hub', id: 'h' }, { limit: 0 });
        expect(zero).toEqual({ nodes: [{ label: 'Hub', id: 'h', props: {} }], edges: [] });
      });

      it('returns nothing for a start node that does not exist', async () => {
        const t = tenant();
        await chain(t);
        expect(await store.neighbours(t, { label: 'Node', id: 'missing' })).toEqual({ nodes: [], edges: [] });
        expect(await store.neighbours(t, { label: 'Other', id: 'a' })).toEqual({ nodes: [], edges: [] });
        expect(await store.neighbours(tenant('empty'), a)).toEqual({ nodes: [], edges: [] });
      });

      it('walks a cycle without returning the start twice', async () => {
        const t = tenant();
        await store.linkMany(t, [
          { from: { label: 'Node', id: 'p' }, relation: 'NEXT', to: { label: 'Node', id: 'q' } },
          { from: { label: 'Node', id: 'q' }, relation: 'NEXT', to: { label: 'Node', id: 'p' } },
          { from: { label: 'Node', id: 'p' }, relation: 'SELF', to: { label: 'Node', id: 'p' } },
        ]);
        const n = await store.neighbours(t, { label: 'Node', id: 'p' }, { depth: 3 });
        expect(n.nodes.map((x) => x.id)).toEqual(['p', 'q']);
        expect(edgeSet(n)).toEqual(['Node:p -NEXT-> Node:q', 'Node:p -SELF-> Node:p', 'Node:q -NEXT-> Node:p']);
      });
    });

    describe('validation', () => {
      const rejects = async (call: Promise<unknown>, field: string): Promise<void> => {
        await expect(call).rejects.toMatchObject({ name: 'GraphInputError', code: 'DROVER_ERR_VALIDATION', status: 400, details: expect.objectContaining({ field }) });
      };

      it('rejects labels, relations and property keys outside their patterns', async () => {
        const t = tenant();
        const ok = { label: 'Task', id: '1' };
        await rejects(store.link(t, { label: 'Task) DETACH DELETE n //', id: '1' }, 'PRODUCED', ok), 'from.label');
        await rejects(store.link(t, ok, 'PRODUCED', { label: 'task', id: '1' }), 'to.label');
        await rejects(store.link(t, ok, 'PRODUCED`]->(x) DELETE x //', ok), 'relation');
        await rejects(store.link(t, ok, 'produced', ok), 'relation');
        await rejects(store.link(t, ok, 'A-B', ok), 'relation');
        await rejects(store.link(t, ok, 'R', ok, { 'bad-key': 1 }), 'props.bad-key');
        await rejects(store.link(t, { ...ok, props: { tenant: 'other' } }, 'R', ok), 'from.props.tenant');
        await rejects(store.link(t, ok, 'R', { ...ok, props: { id: 'other' } }), 'to.props.id');
        await rejects(store.link(t, ok, 'R', ok, { n: Number.NaN }), 'props.n');
        await rejects(store.link(t, ok, 'R', ok, { o: { nested: true } as never }), 'props.o');
        await rejects(store.link(t, { label: 'Task', id: '' }, 'R', ok), 'from.id');
        await rejects(store.link('', ok, 'R', ok), 'tenant');
        await rejects(store.neighbours(t, { label: 'Task`', id: '1' }), 'ref.label');
        await rejects(store.recordTask(t, { id: 'x', type: 'k', status: 'bogus' as never }), 'task.status');
        // Nothing was written by the refused calls.
        expect(await store.neighbours(t, ok)).toEqual({ nodes: [], edges: [] });
      });

      it('rejects depth, limit and direction out of range', async () => {
        const t = tenant();
        const ref = { label: 'Task', id: '1' };
        await rejects(store.neighbours(t, ref, { depth: 4 }), 'depth');
        await rejects(store.neighbours(t, ref, { depth: 0 }), 'depth');
        await rejects(store.neighbours(t, ref, { depth: 1.5 }), 'depth');
        await rejects(store.neighbours(t, ref, { limit: 501 }), 'limit');
        await rejects(store.neighbours(t, ref, { limit: -1 }), 'limit');
        await rejects(store.neighbours(t, ref, { direction: 'up' as never }), 'direction');
        await rejects(store.neighbours(t, ref, { relation: 'bad relation' }), 'relation');
      });

      it('rejects a whole batch when one item is bad, writing none of it', async () => {
        const t = tenant();
        await rejects(
          store.linkMany(t, [
            { from: { label: 'Task', id: 'ok' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'ok' } },
            { from: { label: 'Task', id: 'ok' }, relation: 'PRODUCED', to: { label: 'Bad Label', id: 'x' } },
          ]),
          'links[1].to.label',
        );
        await rejects(
          store.recordTasks(t, [
            { id: 'ok', type: 'k', status: 'queued' },
            { id: 'bad', type: 'k', status: 'queued', parentId: '' },
          ]),
          'tasks[1].parentId',
        );
        expect(await store.neighbours(t, { label: 'Task', id: 'ok' })).toEqual({ nodes: [], edges: [] });
      });
    });

    describe('tenant isolation', () => {
      it("shows tenant b nothing of tenant a's nodes under the same ids", async () => {
        const a = tenant('a');
        const b = tenant('b');
        await store.recordTasks(a, [
          { id: 'root', type: 'plan', status: 'running' },
          { id: 'kid', type: 'scrape', status: 'queued', parentId: 'root' },
        ]);
        await store.link(a, { label: 'Task', id: 'kid' }, 'PRODUCED', { label: 'Artifact', id: 'doc', props: { secret: 'a-only' } });

        for (const ref of [
          { label: 'Task', id: 'root' },
          { label: 'Task', id: 'kid' },
          { label: 'Artifact', id: 'doc' },
          { label: 'AgentType', id: 'scrape' },
        ]) {
          expect(await store.neighbours(b, ref, { depth: 3 })).toEqual({ nodes: [], edges: [] });
        }
      });

      it("makes tenant b's link to a's node id a node of b's own, never a relation to a's", async () => {
        const a = tenant('a');
        const b = tenant('b');
        await store.link(a, { label: 'Task', id: 'shared-id' }, 'PRODUCED', { label: 'Artifact', id: 'a-doc', props: { owner: 'a' } });
        await store.recordTask(b, { id: 'b-task', type: 'scrape', status: 'queued', parentId: 'shared-id' });
        await store.link(b, { label: 'Task', id: 'shared-id' }, 'PRODUCED', { label: 'Artifact', id: 'b-doc', props: { owner: 'b' } });
        await store.link(b, { label: 'Task', id: 'b-task' }, 'CITES', { label: 'Artifact', id: 'a-doc', props: { owner: 'b' } });

        const fromA = await store.neighbours(a, { label: 'Task', id: 'shared-id' }, { depth: 3 });
        expect(nodeSet(fromA)).toEqual(['Artifact:a-doc', 'Task:shared-id']);
        expect(edgeSet(fromA)).toEqual(['Task:shared-id -PRODUCED-> Artifact:a-doc']);
        expect(fromA.nodes.find((n) => n.id === 'a-doc')?.props).toEqual({ owner: 'a' });

        const fromB = await store.neighbours(b, { label: 'Task', id: 'shared-id' }, { depth: 3 });
        expect(nodeSet(fromB)).toEqual(['AgentType:scrape', 'Artifact:a-doc', 'Artifact:b-doc', 'Task:b-task', 'Task:shared-id']);
        // b's a-doc is b's own node: a's props are not on it, b's are not on a's.
        expect(fromB.nodes.find((n) => n.id === 'a-doc')?.props).toEqual({ owner: 'b' });
        expect(fromB.nodes.find((n) => n.id === 'shared-id')?.props).toEqual({});
      });
    });

    it('refuses calls once closed', async () => {
      const t = tenant();
      await store.close();
      await expect(store.neighbours(t, { label: 'Task', id: 'x' })).rejects.toMatchObject({ code: 'DROVER_ERR_SHUTTING_DOWN' });
      await expect(store.recordTask(t, { id: 'x', type: 'k', status: 'queued' })).rejects.toMatchObject({ code: 'DROVER_ERR_SHUTTING_DOWN' });
    });
  });
}
