import { taskFinished as finished, waitUntil } from '@drover/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptContext, Backend, TaskHandler } from '../../src/backend.js';
import { type ChildFailurePolicy, ChildSpawner } from '../../src/spawn.js';
import { cancelTree, readTree } from '../../src/task-tree.js';
import { type SubmitRequest, type TaskRecord, completeSubmit } from '../../src/task.js';
import type { ConformanceStore } from './backend-conformance.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Blocks until the attempt is aborted, then fails it with the abort's reason. */
const untilAborted = (ctx: AttemptContext) =>
  new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));

/**
 * Agents that spawn agents, on every backend: spawn, fan-out and fan-in, suspension without a
 * held slot, failure policies, race, cancel cascade and the tree. Handlers use the same
 * ChildSpawner the worker's ctx.spawn() wraps.
 */
export function childrenConformance(name: string, makeStore: () => Promise<ConformanceStore>): void {
  describe(`Children conformance: ${name}`, () => {
    let store: ConformanceStore;
    let backend: Backend;
    const closers: Array<() => Promise<void>> = [];

    const req = (over: Partial<SubmitRequest> = {}): SubmitRequest =>
      completeSubmit({ type: 'parent', queue: 'alpha', tenant: 'acme', input: null, timeoutMs: 20_000, ...over });
    const consume = async (queue: string, concurrency: number, handler: TaskHandler) => {
      const c = await backend.consume(queue, { concurrency, handler });
      closers.push(() => c.close(0));
      return c;
    };
    const spawner = (task: TaskRecord, ctx: AttemptContext, policy?: ChildFailurePolicy) => new ChildSpawner(backend, task, ctx.signal, policy);

    beforeEach(async () => {
      store = await makeStore();
      backend = await store.open();
    });

    afterEach(async () => {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      await backend.close().catch(() => undefined);
      await store.teardown();
    });

    it('fans out 100 children and fans their results in; the parent shows them and each child its parent', async () => {
      let parentRuns = 0;
      await consume('alpha', 2, async (task, ctx) => {
        parentRuns++;
        const kids = spawner(task, ctx);
        const handles = Array.from({ length: 100 }, (_, i) => kids.spawn('double', { n: i }, { queue: 'beta' }));
        const results = (await kids.all(handles)) as number[];
        return { sum: results.reduce((a, b) => a + b, 0) };
      });
      await consume('beta', 8, async (task) => (task.input as { n: number }).n * 2);
      const { task } = await backend.submit(req({ tenant: 'globex' }));
      const done = await finished(backend, task.id, 30_000);
      expect(done.status).toBe('succeeded');
      expect(done.output).toEqual({ sum: 2 * ((99 * 100) / 2) });
      expect(done.children).toHaveLength(100);
      // It suspended at least once (the children cannot all be done at its first look), and was
      // woken by the child that completed its wait, not by each of the 100 (the 5 s backstop
      // aside, which a 100-child fan-out here does not reach).
      expect(parentRuns).toBeGreaterThanOrEqual(2);
      expect(parentRuns).toBeLessThanOrEqual(3);
      const child = await backend.get(done.children[37]!);
      expect(child).toMatchObject({ parentId: task.id, tenant: 'globex', queue: 'beta', type: 'double', status: 'succeeded' });
      // Re-runs found the same children: memoised, not spawned again.
      expect(new Set(done.children).size).toBe(100);
    });

    it('finishes when waiting parents outnumber every slot of the fleet (no deadlock)', async () => {
      // One queue, two slots, six parents with two children each on the same queue: a parent that
      // kept its slot while waiting would leave no slot for any child.
      await consume('alpha', 2, async (task, ctx) => {
        if (task.type === 'leaf') {
          await sleep(20);
          return (task.input as { v: number }).v;
        }
        const kids = spawner(task, ctx);
        const [a, b] = (await kids.all([kids.spawn('leaf', { v: 1 }), kids.spawn('leaf', { v: 2 })])) as number[];
        return a! + b!;
      });
      const parents = await backend.submitMany(Array.from({ length: 6 }, () => req()));
      for (const { task } of parents) {
        const done = await finished(backend, task.id, 30_000);
        expect(done.status).toBe('succeeded');
        expect(done.output).toBe(3);
      }
    });

    it('shows a suspended parent as waiting, counted apart from the runnable backlog', async () => {
      let release = false;
      await consume('alpha', 1, async (task, ctx) => {
        const kids = spawner(task, ctx);
        return kids.all([kids.spawn('slow', null, { queue: 'beta' })]);
      });
      await consume('beta', 1, async () => {
        while (!release) await sleep(20);
        return 'ok';
      });
      const { task } = await backend.submit(req());
      await waitUntil(async () => (await backend.get(task.id))?.status === 'waiting', 'parent to suspend');
      const counts = await backend.counts('alpha');
      expect(counts).toMatchObject({ waiting: 1, running: 0, queued: 0, delayed: 0 });
      release = true;
      expect((await finished(backend, task.id)).output).toEqual(['ok']);
      expect((await backend.counts('alpha')).waiting).toBe(0);
    });

    it('fails the parent when a child fails, unless its type takes failures as values', async () => {
      const failing = async () => {
        throw Object.assign(new Error('no luck'), { retryable: false });
      };
      await consume('beta', 2, failing);
      await consume('alpha', 2, async (task, ctx) => {
        const policy = (task.input as { policy: ChildFailurePolicy }).policy;
        const kids = spawner(task, ctx, policy);
        return kids.all([kids.spawn('flaky', null, { queue: 'beta' })]);
      });
      const strict = (await backend.submit(req({ input: { policy: 'fail-parent' } }))).task;
      const lenient = (await backend.submit(req({ input: { policy: 'value' } }))).task;
      const failed = await finished(backend, strict.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ code: 'DROVER_ERR_CHILD_FAILED', retryable: false });
      expect(failed.error?.message).toContain('no luck');
      const ok = await finished(backend, lenient.id);
      expect(ok.status).toBe('succeeded');
      expect(ok.output).toEqual([{ id: ok.children[0], status: 'failed', output: null, error: { code: 'DROVER_ERR_TASK_FAILED', message: 'no luck', retryable: false } }]);
    });

    it('races children: the first to finish wins, the parent wakes without waiting for the rest', async () => {
      await consume('beta', 2, async (task, ctx) => {
        const { ms } = task.input as { ms: number };
        if (ms > 1000) return untilAborted(ctx);
        await sleep(ms);
        return `after ${ms}`;
      });
      await consume('alpha', 1, async (task, ctx) => {
        const kids = spawner(task, ctx);
        return kids.race([kids.spawn('wait', { ms: 60_000 }, { queue: 'beta' }), kids.spawn('wait', { ms: 30 }, { queue: 'beta' })]);
      });
      const { task } = await backend.submit(req());
      const done = await finished(backend, task.id);
      expect(done.output).toBe('after 30');
      const slow = await backend.get(done.children[0]!);
      expect(slow?.status).toBe('running');
      await cancelTree(backend, slow!.id);
    });

    it('cancels every descendant with its parent, and the tree shows each node', async () => {
      // parent -> 2 middles -> 2 leaves each; leaves block until canceled.
      await consume('alpha', 4, async (task, ctx) => {
        const kids = spawner(task, ctx);
        if (task.type === 'parent') return kids.all([kids.spawn('middle', null), kids.spawn('middle', null)]);
        return kids.all([kids.spawn('leaf', null, { queue: 'beta' }), kids.spawn('leaf', null, { queue: 'beta' })]);
      });
      await consume('beta', 4, async (_t, ctx) => untilAborted(ctx));
      const { task } = await backend.submit(req());
      await waitUntil(async () => {
        const { tree, size } = await readTree(backend, (await backend.get(task.id))!);
        // A middle records its suspension just after spawning, so its leaves may start first.
        return size === 7 && tree.children.every((m) => m.status === 'waiting' && m.children.every((l) => l.status === 'running')) ? tree : null;
      }, 'the leaves to be running and the middles waiting on them');
      const { tree: before } = await readTree(backend, (await backend.get(task.id))!);
      expect(before.status).toBe('waiting');
      expect(before.children.map((m) => [m.type, m.status])).toEqual([
        ['middle', 'waiting'],
        ['middle', 'waiting'],
      ]);
      const root = await cancelTree(backend, task.id);
      expect(root?.status).toBe('canceled');
      const { tree } = await waitUntil(async () => {
        const t = await readTree(backend, (await backend.get(task.id))!);
        return t.tree.children.every((m) => m.status === 'canceled' && m.children.every((l) => l.status === 'canceled')) ? t : null;
      }, 'every descendant to be canceled');
      expect(tree.children.flatMap((m) => m.children)).toHaveLength(4);
    });

    it('fails a re-run that spawns a different child at the same position (DROVER_ERR_SPAWN_MISMATCH)', async () => {
      await consume('beta', 1, async () => {
        await sleep(100); // still running at the parent's first look: the parent must re-run
        return 'done';
      });
      await consume('alpha', 1, async (task, ctx) => {
        const kids = spawner(task, ctx);
        // Not deterministic: the input depends on the run.
        return kids.all([kids.spawn('child', { run: task.attempt }, { queue: 'beta' })]);
      });
      const { task } = await backend.submit(req());
      const done = await finished(backend, task.id);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('DROVER_ERR_SPAWN_MISMATCH');
    });
  });
}
