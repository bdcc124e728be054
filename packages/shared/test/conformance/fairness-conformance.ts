import { taskFinished as finished } from '@drover/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { type SubmitRequest, completeSubmit } from '../../src/task.js';
import type { ConformanceStore } from './backend-conformance.js';

/**
 * Fair dispatch between tenants within a queue: a tenant with a deep backlog delays a quiet one by
 * one task per round, not by its whole backlog; priority still comes first. `rounds` (memory,
 * bullmq) serve tenants in strict turn, so the order is exact; `lanes` (rabbitmq: one broker queue
 * per tenant, a freed slot offered to the lanes from a random one) serve them in turn on average,
 * so the test bounds the quiet tenant's wait instead, and priority orders a tenant's own tasks only.
 */
export function fairnessConformance(name: string, makeStore: () => Promise<ConformanceStore>, dispatch: 'rounds' | 'lanes' = 'rounds'): void {
  describe(`Fairness conformance: ${name}`, () => {
    let store: ConformanceStore;
    let backend: Backend;
    const req = (tenant: string, over: Partial<SubmitRequest> = {}) => completeSubmit({ type: 'echo', queue: 'alpha', tenant, input: null, timeoutMs: 10_000, ...over });

    beforeEach(async () => {
      store = await makeStore();
      backend = await store.open();
    });
    afterEach(async () => {
      await backend.close().catch(() => undefined);
      await store.teardown();
    });

    /** Runs the queue one task at a time and returns the tenants in the order their tasks ran. */
    const runOrder = async (ids: string[]): Promise<string[]> => {
      const order: string[] = [];
      const c = await backend.consume('alpha', {
        concurrency: 1,
        handler: async (task) => {
          order.push(task.tenant);
          return null;
        },
      });
      await backend.resume('alpha');
      try {
        for (const id of ids) await finished(backend, id, 30_000);
      } finally {
        await c.close(0);
      }
      return order;
    };

    if (dispatch === 'rounds') {
      it('serves tenants in turn: a quiet tenant behind a noisy one waits one task per round, not the backlog', async () => {
        await backend.pause('alpha');
        const noisy = await backend.submitMany(Array.from({ length: 200 }, () => req('noisy')));
        const quiet = [];
        for (let i = 0; i < 5; i++) quiet.push(await backend.submit(req('quiet')));
        const order = await runOrder([...noisy, ...quiet].map((r) => r.task.id));
        const positions = order.flatMap((t, i) => (t === 'quiet' ? [i] : []));
        expect(positions).toEqual([1, 3, 5, 7, 9]);
        expect(order.filter((t) => t === 'noisy')).toHaveLength(200);
      });
    } else {
      it('serves tenants in turn: a quiet tenant behind a noisy one waits about one task per turn, not the backlog', async () => {
        await backend.pause('alpha');
        const noisy = await backend.submitMany(Array.from({ length: 200 }, () => req('noisy')));
        const quiet = [];
        for (let i = 0; i < 5; i++) quiet.push(await backend.submit(req('quiet')));
        const order = await runOrder([...noisy, ...quiet].map((r) => r.task.id));
        const positions = order.flatMap((t, i) => (t === 'quiet' ? [i] : []));
        // In broker order the quiet tasks would run last (positions 200-204). Taking turns per freed
        // slot they run around 0-10 (the first turns depend on which lane's deliveries arrive first).
        expect(positions).toHaveLength(5);
        expect(positions[4], `quiet tasks ran at ${positions.join(", ")}`).toBeLessThan(40);
        expect(order.filter((t) => t === 'noisy')).toHaveLength(200);
      });

      it('keeps priority within a tenant: its higher-priority tasks run before its lower ones', async () => {
        await backend.pause('alpha');
        const low = await backend.submitMany(Array.from({ length: 5 }, () => req('quiet', { priority: 3 })));
        const high = await backend.submitMany(Array.from({ length: 5 }, () => req('quiet')));
        const ids = new Map([...low.map((r) => [r.task.id, 'low'] as const), ...high.map((r) => [r.task.id, 'high'] as const)]);
        const seen: string[] = [];
        const c = await backend.consume('alpha', {
          concurrency: 1,
          handler: async (task) => {
            seen.push(ids.get(task.id) ?? '?');
            return null;
          },
        });
        await backend.resume('alpha');
        try {
          for (const id of ids.keys()) await finished(backend, id, 30_000);
        } finally {
          await c.close(0);
        }
        expect(seen).toEqual(['high', 'high', 'high', 'high', 'high', 'low', 'low', 'low', 'low', 'low']);
      });
    }

    if (dispatch === 'rounds') {
      it('still serves higher priority first, then tenants in turn within a priority', async () => {
        await backend.pause('alpha');
        const low = await backend.submitMany(Array.from({ length: 10 }, () => req('noisy', { priority: 3 })));
        const high = await backend.submitMany(Array.from({ length: 10 }, () => req('noisy')));
        const quietLow = await backend.submit(req('quiet', { priority: 3 }));
        const quietHigh = await backend.submit(req('quiet'));
        const order = await runOrder([...low, ...high, quietLow, quietHigh].map((r) => r.task.id));
        // Priority 10 first, the quiet tenant in its first round (second, after the noisy one
        // submitted before it); then priority 3, the same way.
        const positions = order.flatMap((t, i) => (t === 'quiet' ? [i] : []));
        expect(positions).toEqual([1, 12]);
      });

      it('forgets old rounds once the queue has drained: a tenant that was busy earlier is not held back later', async () => {
        await backend.pause('alpha');
        const first = await backend.submitMany(Array.from({ length: 30 }, () => req('noisy')));
        await runOrder(first.map((r) => r.task.id));
        await backend.pause('alpha');
        const again = [await backend.submit(req('quiet')), await backend.submit(req('noisy')), await backend.submit(req('quiet'))];
        const order = await runOrder(again.map((r) => r.task.id));
        expect(order).toEqual(['quiet', 'noisy', 'quiet']);
      });
    }
  });
}
