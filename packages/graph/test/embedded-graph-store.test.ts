import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedGraphStore, createGraphStore } from '../src/index.js';
import { graphStoreConformance } from './conformance/graph-store-conformance.js';

graphStoreConformance('embedded', { open: async () => new EmbeddedGraphStore() });

describe('EmbeddedGraphStore with a dataDir', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-graph-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  graphStoreConformance('embedded with a dataDir', {
    open: async () => {
      const store = new EmbeddedGraphStore({ dataDir, flushDelayMs: 5 });
      await store.init();
      return store;
    },
  });

  it('keeps the graph across a restart', async () => {
    const first = await createGraphStore({ dataDir });
    await first.recordTasks('acme', [
      { id: 'r', type: 'plan', status: 'running' },
      { id: 'c', type: 'scrape', status: 'queued', parentId: 'r' },
    ]);
    await first.link('acme', { label: 'Task', id: 'c' }, 'PRODUCED', { label: 'Artifact', id: 'a', props: { kind: 'html' } }, { at: 1 });
    await first.link('other', { label: 'Task', id: 'r' }, 'NOTES', { label: 'Note', id: 'n' });
    const before = await first.neighbours('acme', { label: 'Task', id: 'r' }, { depth: 3 });
    await first.close();

    const second = await createGraphStore({ dataDir });
    expect(await second.neighbours('acme', { label: 'Task', id: 'r' }, { depth: 3 })).toEqual(before);
    expect(before.nodes).toHaveLength(5);
    const other = await second.neighbours('other', { label: 'Task', id: 'r' });
    expect(other.nodes.map((n) => n.id)).toEqual(['r', 'n']);
    // Writes after the restart go on from the loaded graph: one PRODUCED relation, props merged.
    await second.link('acme', { label: 'Task', id: 'c' }, 'PRODUCED', { label: 'Artifact', id: 'a' }, { at: 2 });
    const c = await second.neighbours('acme', { label: 'Task', id: 'c' }, { relation: 'PRODUCED' });
    expect(c.edges).toEqual([{ from: { label: 'Task', id: 'c' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'a' }, props: { at: 2 } }]);
    await second.close();
  });

  it('writes behind without a close, and leaves no temporary file', async () => {
    const store = new EmbeddedGraphStore({ dataDir, flushDelayMs: 10 });
    await store.init();
    await store.link('acme', { label: 'Task', id: 't' }, 'PRODUCED', { label: 'Artifact', id: 'a' });
    await expect(readFile(join(dataDir, 'graph.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect.poll(async () => readFile(join(dataDir, 'graph.json'), 'utf8').catch(() => ''), { timeout: 5000 }).toContain('"Artifact"');
    expect(await readdir(dataDir)).toEqual(['graph.json']);
    await store.close();
  });

  it('stops start-up on a damaged file, naming it', async () => {
    await writeFile(join(dataDir, 'graph.json'), '{"version": 1, "tenants": {', 'utf8');
    await expect(createGraphStore({ dataDir })).rejects.toMatchObject({ code: 'DROVER_ERR_CONFIG', message: expect.stringContaining(join(dataDir, 'graph.json')) });
    await writeFile(join(dataDir, 'graph.json'), '{"version": 7, "tenants": {}}', 'utf8');
    await expect(createGraphStore({ dataDir })).rejects.toMatchObject({ code: 'DROVER_ERR_CONFIG' });
  });
});
