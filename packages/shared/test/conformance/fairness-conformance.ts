import { taskFinished as finished } from '@drover/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { type SubmitRequest, completeSubmit } from '../../src/task.js';
import type { ConformanceStore } from './backend-conformance.js';

/**
 * Fair dispatch between tenants within a queue: a tenant with a deep backlog delays a quiet one by
 * one task per round, not by its whole backlog; priority still comes first. On memory and bullmq
 * (the rabbitmq backend dispatches in broker order: see docs/agents.md).
 */
export function fairnessConformance(name: string, makeStore: () => Promise<ConformanceStore>): void {
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
  });
}
