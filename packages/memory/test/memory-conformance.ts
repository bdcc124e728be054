import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryStore } from '../src/index.js';

/**
 * The behaviour every MemoryStore must show, run against each backend. `open()` gives a store
 * over the target's data; calling it again after closing the previous store must see the same
 * data when the target persists (`persistent: true`).
 */
export interface MemoryTarget {
  open(): Promise<MemoryStore>;
  persistent: boolean;
  /** Called after each test, after the store is closed. */
  cleanup?(): Promise<void>;
}

export function memoryConformance(name: string, makeTarget: () => Promise<MemoryTarget>): void {
  describe(`MemoryStore conformance: ${name}`, () => {
    let target: MemoryTarget;
    let store: MemoryStore;
    // Each test owns its names: a fresh collection and fresh tenants.
    let collection: string;
    let tenant: string;
    let other: string;

    beforeEach(async () => {
      target = await makeTarget();
      store = await target.open();
      const tag = randomBytes(4).toString('hex');
      collection = `c-${tag}`;
      tenant = `tenant-a-${tag}`;
      other = `tenant-b-${tag}`;
    });

    afterEach(async () => {
      await store.close();
      await target.cleanup?.();
    });

    const notes = [
      { id: 'n1', text: 'the cat sat on the warm mat', payload: { kind: 'pet', n: 1, flag: true, weight: 0.5 } },
      { id: 'n2', text: 'quarterly revenue grew by eight percent', payload: { kind: 'finance', n: 2, flag: false, weight: 1.5 } },
      { id: 'n3', text: 'the dog chased the cat around the garden', payload: { kind: 'pet', n: 3, flag: false, weight: 0.5 } },
      { id: 'n4', text: 'kubernetes autoscaling on queue backlog', payload: { kind: 'ops', n: 4, flag: true, weight: 2.5 } },
      { id: 'n5', text: 'invoice payment terms are thirty days', payload: { kind: 'finance', n: 5, flag: true, weight: 1.5 } },
    ];

    it('ranks an item first when the query is its text, best first, with text and payload', async () => {
      expect(await store.remember(tenant, collection, notes)).toBe(5);
      for (const note of notes) {
        const hits = await store.recall(tenant, collection, note.text);
        expect(hits[0]!.id).toBe(note.id);
        expect(hits[0]!.score).toBeGreaterThan(0.999);
        expect(hits[0]!.text).toBe(note.text);
        expect(hits[0]!.payload).toEqual(note.payload);
        const scores = hits.map((h) => h.score);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
      }
      // Shared words bring related items up: both pet notes outrank the others for "cat".
      const cat = await store.recall(tenant, collection, 'cat', { k: 2 });
      expect(cat.map((h) => h.id).sort()).toEqual(['n1', 'n3']);
    });

    it('returns at most k hits, 5 by default, and rejects k outside 1..100', async () => {
      await store.remember(
        tenant,
        collection,
        Array.from({ length: 20 }, (_, i) => ({ id: `i${i}`, text: `item number ${i} about topic ${i % 4}` })),
      );
      expect(await store.recall(tenant, collection, 'item topic')).toHaveLength(5);
      expect(await store.recall(tenant, collection, 'item topic', { k: 3 })).toHaveLength(3);
      expect(await store.recall(tenant, collection, 'item topic', { k: 100 })).toHaveLength(20);
      for (const k of [0, 101, 2.5, -1]) {
        await expect(store.recall(tenant, collection, 'item', { k })).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_K' });
      }
    });

    it('filters by exact payload values, all conditions together', async () => {
      await store.remember(tenant, collection, notes);
      const ids = async (filter: Record<string, string | number | boolean>) =>
        (await store.recall(tenant, collection, 'the cat revenue invoice kubernetes', { k: 10, filter })).map((h) => h.id).sort();
      expect(await ids({ kind: 'pet' })).toEqual(['n1', 'n3']);
      expect(await ids({ kind: 'finance', flag: true })).toEqual(['n5']);
      expect(await ids({ n: 4 })).toEqual(['n4']);
      expect(await ids({ weight: 1.5 })).toEqual(['n2', 'n5']);
      expect(await ids({ flag: false })).toEqual(['n2', 'n3']);
      expect(await ids({ kind: 'pet', n: 2 })).toEqual([]);
      expect(await ids({ missing: 'x' })).toEqual([]);
      await expect(store.recall(tenant, collection, 'x', { filter: { 'a.b': 1 } })).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_FILTER' });
      await expect(store.recall(tenant, collection, 'x', { filter: { a: null as never } })).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_FILTER' });
    });

    it('replaces an item remembered again under the same id', async () => {
      await store.remember(tenant, collection, notes);
      await store.remember(tenant, collection, [{ id: 'n1', text: 'a completely new sentence about rockets', payload: { kind: 'space' } }]);
      const all = await store.recall(tenant, collection, 'rockets', { k: 100 });
      expect(all).toHaveLength(5);
      expect(all[0]).toMatchObject({ id: 'n1', text: 'a completely new sentence about rockets', payload: { kind: 'space' } });
      expect((await store.recall(tenant, collection, 'cat', { k: 10, filter: { kind: 'pet' } })).map((h) => h.id)).toEqual(['n3']);
    });

    it('forgets by ids and by filter, and counts what it removed', async () => {
      await store.remember(tenant, collection, notes);
      expect(await store.forget(tenant, collection, ['n1', 'n404'])).toBe(1);
      expect((await store.recall(tenant, collection, notes[0]!.text, { k: 10 })).map((h) => h.id)).not.toContain('n1');
      expect(await store.forget(tenant, collection, { filter: { kind: 'finance' } })).toBe(2);
      expect((await store.recall(tenant, collection, 'anything', { k: 10 })).map((h) => h.id).sort()).toEqual(['n3', 'n4']);
      expect(await store.forget(tenant, collection, ['n1'])).toBe(0);
      expect(await store.forget(tenant, 'never-used', ['n3'])).toBe(0);
      await expect(store.forget(tenant, collection, { filter: {} })).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_FILTER' });
    });

    it('takes vectors instead of texts, and vector queries', async () => {
      const d = store.dimension;
      const axis = (i: number, scale = 1) => Array.from({ length: d }, (_, j) => scale * (j === i ? 1 : j === i + 1 ? 0.1 : 0));
      await store.remember(tenant, collection, [
        { id: 'x0', vector: axis(0, 3) },
        { id: 'x1', vector: axis(1), text: 'kept as is', payload: { p: 1 } },
        { id: 'x2', vector: axis(2) },
      ]);
      const hits = await store.recall(tenant, collection, axis(1, 7), { k: 3 });
      expect(hits[0]).toMatchObject({ id: 'x1', text: 'kept as is', payload: { p: 1 } });
      // Cosine ignores length: the query's scale (7) and x0's (3) do not matter.
      expect(hits[0]!.score).toBeCloseTo(1, 5);
      expect(hits.find((h) => h.id === 'x0')).toBeDefined();
      expect((await store.recall(tenant, collection, axis(0), { k: 1 }))[0]!.id).toBe('x0');
    });

    it('rejects a wrong dimension, an item with neither text nor vector and bad names', async () => {
      const d = store.dimension;
      await expect(store.remember(tenant, collection, [{ id: 'v', vector: [1, 2, 3] }])).rejects.toMatchObject({
        code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH',
        details: { expected: d, actual: 3 },
      });
      await expect(store.recall(tenant, collection, Array.from({ length: d + 1 }, () => 1))).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH' });
      await expect(store.remember(tenant, collection, [{ id: 'empty' }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_ITEM' });
      await expect(store.remember(tenant, collection, [{ id: 'zero', vector: new Array(d).fill(0) }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_ITEM' });
      await expect(store.remember(tenant, collection, [{ id: '', text: 'x' }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_ITEM' });
      for (const bad of ['', 'Upper', '-lead', 'a/b', 'a.b', 'x'.repeat(64), 'spa ce']) {
        await expect(store.remember(tenant, bad, [{ id: 'a', text: 'x' }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_COLLECTION' });
      }
      expect(await store.remember(tenant, 'x'.repeat(63), [{ id: 'a', text: 'long name is fine' }])).toBe(1);
      await expect(store.recall('', collection, 'x')).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_BAD_TENANT' });
      // Nothing of a rejected call was stored.
      expect(await store.recall(tenant, collection, 'x', { k: 100 })).toEqual([]);
    });

    it('isolates tenants absolutely, with the same collection and the same ids', async () => {
      await store.remember(tenant, collection, notes);
      // Tenant b has nothing yet: not even a's exact text finds anything.
      expect(await store.recall(other, collection, notes[0]!.text, { k: 100 })).toEqual([]);
      expect(await store.forget(other, collection, ['n1', 'n2'])).toBe(0);
      expect(await store.forget(other, collection, { filter: { kind: 'pet' } })).toBe(0);
      // Now b stores items under the very same ids and payload keys.
      await store.remember(other, collection, [
        { id: 'n1', text: 'tenant b owns this n1 about sailing', payload: { kind: 'pet', owner: 'b' } },
        { id: 'n2', text: 'tenant b owns this n2 about baking', payload: { kind: 'finance', owner: 'b' } },
      ]);
      const bHits = await store.recall(other, collection, notes[0]!.text, { k: 100 });
      expect(bHits.map((h) => h.id).sort()).toEqual(['n1', 'n2']);
      expect(bHits.every((h) => h.payload['owner'] === 'b')).toBe(true);
      expect(await store.forget(other, collection, ['n1'])).toBe(1);
      expect(await store.forget(other, collection, { filter: { kind: 'finance' } })).toBe(1);
      // a's items are all still there, unchanged.
      const aHits = await store.recall(tenant, collection, notes[0]!.text, { k: 100 });
      expect(aHits.map((h) => h.id).sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      expect(aHits.every((h) => h.payload['owner'] === undefined)).toBe(true);
      expect(aHits[0]).toMatchObject({ id: 'n1', text: notes[0]!.text });
    });

    it('recalls nothing from a collection never written', async () => {
      expect(await store.recall(tenant, `${collection}-none`, 'anything')).toEqual([]);
    });

    it('keeps what was remembered across a close and a reopen', async (ctx) => {
      // A store without a data directory keeps nothing across a close by design: nothing to test.
      if (!target.persistent) ctx.skip();
      await store.remember(tenant, collection, notes);
      await store.remember(other, collection, [{ id: 'n1', text: 'b only', payload: { owner: 'b' } }]);
      await store.forget(tenant, collection, ['n5']);
      const before = await store.recall(tenant, collection, notes[2]!.text, { k: 10 });
      await store.close();
      store = await target.open();
      const after = await store.recall(tenant, collection, notes[2]!.text, { k: 10 });
      expect(after.map((h) => [h.id, h.text, h.payload])).toEqual(before.map((h) => [h.id, h.text, h.payload]));
      after.forEach((h, i) => {
        expect(h.score).toBeCloseTo(before[i]!.score, 5);
      });
      expect(after.map((h) => h.id)).not.toContain('n5');
      expect((await store.recall(other, collection, 'b only', { k: 10 })).map((h) => h.payload)).toEqual([{ owner: 'b' }]);
    });

    it('refuses calls after close', async () => {
      await store.close();
      await expect(store.recall(tenant, collection, 'x')).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_CLOSED' });
      await expect(store.remember(tenant, collection, [{ id: 'a', text: 'x' }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_CLOSED' });
    });
  });
}
