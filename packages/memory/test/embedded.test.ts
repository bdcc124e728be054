import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedMemoryStore, LocalEmbedder } from '../src/index.js';
import { memoryConformance } from './memory-conformance.js';

memoryConformance('embedded, in memory', async () => ({ persistent: false, open: async () => new EmbeddedMemoryStore() }));

memoryConformance('embedded, with a data directory', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-memory-'));
  return {
    persistent: true,
    open: async () => EmbeddedMemoryStore.open({ dataDir }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('EmbeddedMemoryStore data files', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-memory-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('writes behind a change without close, by rename, leaving no temporary files', async () => {
    const store = await EmbeddedMemoryStore.open({ dataDir, flushDelayMs: 10 });
    await store.remember('acme', 'notes', [{ id: 'a', text: 'written behind' }]);
    let files: string[] = [];
    for (let i = 0; i < 100 && files.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      files = (await readdir(dataDir)).filter((f) => f.endsWith('.drvm'));
    }
    expect(files).toHaveLength(1);
    // A second process opening the directory now sees the item, though the first never closed.
    const reader = await EmbeddedMemoryStore.open({ dataDir });
    expect((await reader.recall('acme', 'notes', 'written behind'))[0]?.id).toBe('a');
    await reader.close();
    await store.close();
    expect((await readdir(dataDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('removes the file of a collection forgotten to empty', async () => {
    const store = await EmbeddedMemoryStore.open({ dataDir });
    await store.remember('acme', 'notes', [{ id: 'a', text: 'x' }]);
    await store.flush();
    expect(await readdir(dataDir)).toHaveLength(1);
    await store.forget('acme', 'notes', ['a']);
    await store.close();
    expect(await readdir(dataDir)).toHaveLength(0);
  });

  it('fails to open over a corrupt file with DROVER_ERR_MEMORY_STORAGE naming it', async () => {
    const store = await EmbeddedMemoryStore.open({ dataDir });
    await store.remember('acme', 'notes', [{ id: 'a', text: 'x' }]);
    await store.close();
    const [name] = await readdir(dataDir);
    const bytes = await readFile(join(dataDir, name!));
    await writeFile(join(dataDir, name!), bytes.subarray(0, bytes.length - 3));
    await expect(EmbeddedMemoryStore.open({ dataDir })).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_STORAGE', message: expect.stringContaining(name!) });
    const lazy = new EmbeddedMemoryStore({ dataDir });
    await expect(lazy.recall('acme', 'notes', 'x')).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_STORAGE' });
  });

  it('refuses data written with an embedder of another dimension', async () => {
    const store = await EmbeddedMemoryStore.open({ dataDir, embedder: new LocalEmbedder({ dimension: 64 }) });
    await store.remember('acme', 'notes', [{ id: 'a', text: 'x' }]);
    await store.close();
    const wider = await EmbeddedMemoryStore.open({ dataDir });
    await expect(wider.recall('acme', 'notes', 'x')).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH' });
    await wider.close();
  });

  it('keeps the stored payload apart from the caller’s object', async () => {
    const store = new EmbeddedMemoryStore();
    const payload = { tags: ['a'] };
    await store.remember('acme', 'notes', [{ id: 'a', text: 'x', payload }]);
    payload.tags.push('changed');
    const [hit] = await store.recall('acme', 'notes', 'x');
    expect(hit!.payload).toEqual({ tags: ['a'] });
    (hit!.payload['tags'] as string[]).push('mutated');
    expect((await store.recall('acme', 'notes', 'x'))[0]!.payload).toEqual({ tags: ['a'] });
  });
});
