import { mkdir } from 'node:fs/promises';
import type { Logger } from '@drover/shared';
import type { Embedder } from './embedder.js';
import { itemVectors, queryVector } from './item-vectors.js';
import { LocalEmbedder } from './local-embedder.js';
import { readTableFiles, writeTableFile } from './memory-file.js';
import { checkCollection, checkFilter, checkItems, checkK, checkQuery, checkSelector, checkTenant } from './memory-input.js';
import { MemoryError } from './memory-error.js';
import type { ForgetSelector, MemoryItem, MemoryStore, RecallHit, RecallOptions } from './memory-store.js';
import { unitVector } from './unit-vector.js';
import { VectorTable } from './vector-table.js';

export interface EmbeddedMemoryStoreOptions {
  /** Defaults to a LocalEmbedder (256 dimensions, offline). */
  embedder?: Embedder;
  /** Where the data files live; without it the store is in memory only. */
  dataDir?: string;
  /** How long after a change the write-behind flush runs; default 200 ms. Changes in between share one write. */
  flushDelayMs?: number;
  logger?: Logger;
}

/**
 * The in-process backend: exact cosine search over unit vectors held in one Float32Array per
 * (tenant, collection), persisted to data files under `dataDir` (see memory-file.ts).
 */
export class EmbeddedMemoryStore implements MemoryStore {
  private readonly embedder: Embedder;
  // Keyed by tenant first, then collection: a lookup can only ever reach the caller's tenant.
  private readonly tenants = new Map<string, Map<string, VectorTable>>();
  private readonly dirty = new Set<string>();
  private readonly ready: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastFlushError: unknown;
  private closed = false;

  constructor(private readonly options: EmbeddedMemoryStoreOptions = {}) {
    this.embedder = options.embedder ?? new LocalEmbedder();
    this.ready = this.load();
    // A load failure is reported by the first call that awaits it, not as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Opens the store and waits for its data files to load, so a bad file fails here. */
  static async open(options: EmbeddedMemoryStoreOptions = {}): Promise<EmbeddedMemoryStore> {
    const store = new EmbeddedMemoryStore(options);
    await store.ready;
    return store;
  }

  get dimension(): number {
    return this.embedder.dimension;
  }

  async remember(tenant: string, collection: string, items: MemoryItem[], options: { signal?: AbortSignal } = {}): Promise<number> {
    checkTenant(tenant);
    checkCollection(collection);
    checkItems(items);
    await this.open();
    if (items.length === 0) return 0;
    const vectors = await itemVectors(this.embedder, items, options.signal);
    // Copy the payloads: later changes by the caller must not reach stored items, and what
    // cannot be written as JSON is refused now rather than at the next flush.
    const payloads = items.map((item, i) => {
      try {
        return JSON.parse(JSON.stringify(item.payload ?? {})) as Record<string, unknown>;
      } catch (err) {
        throw new MemoryError('BAD_ITEM', `items[${i}].payload is not JSON-serialisable: ${(err as Error).message}`);
      }
    });
    this.checkOpen();
    const table = this.table(tenant, collection, vectors[0]!.length, true)!;
    items.forEach((item, i) => {
      table.upsert({ id: item.id, text: item.text, payload: payloads[i]! }, unitVector(vectors[i]!));
    });
    this.changed(tenant, collection);
    return items.length;
  }

  async recall(tenant: string, collection: string, query: string | number[], options: RecallOptions = {}): Promise<RecallHit[]> {
    checkTenant(tenant);
    checkCollection(collection);
    checkQuery(query);
    const k = checkK(options.k);
    const filter = checkFilter(options.filter);
    await this.open();
    const vector = await queryVector(this.embedder, query, options.signal);
    const table = this.table(tenant, collection, vector.length, false);
    if (!table) return [];
    return table.search(unitVector(vector), k, filter).map(({ score, row }) => {
      const hit: RecallHit = { id: row.id, score, payload: structuredClone(row.payload) };
      if (row.text !== undefined) hit.text = row.text;
      return hit;
    });
  }

  async forget(tenant: string, collection: string, selector: ForgetSelector): Promise<number> {
    checkTenant(tenant);
    checkCollection(collection);
    const checked = checkSelector(selector);
    await this.open();
    const table = this.tenants.get(tenant)?.get(collection);
    if (!table) return 0;
    const ids = Array.isArray(checked) ? checked : table.matching(checked.filter);
    let removed = 0;
    for (const id of ids) if (table.remove(id)) removed++;
    if (removed > 0) this.changed(tenant, collection);
    return removed;
  }

  /** Writes every pending change now. */
  async flush(): Promise<void> {
    try {
      await this.ready;
    } catch {
      // Nothing loaded, so nothing was accepted to write; the load error went to the callers.
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writeDirty());
    await this.flushing;
    if (this.lastFlushError !== undefined) {
      const err = this.lastFlushError;
      this.lastFlushError = undefined;
      throw new MemoryError('STORAGE', `cannot write memory data under ${this.options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
  }

  private async load(): Promise<void> {
    const dir = this.options.dataDir;
    if (!dir) return;
    await mkdir(dir, { recursive: true });
    for (const { tenant, collection, table } of await readTableFiles(dir)) {
      this.collectionsOf(tenant).set(collection, table);
    }
  }

  private async open(): Promise<void> {
    this.checkOpen();
    try {
      await this.ready;
    } catch (err) {
      if (err instanceof MemoryError) throw err;
      throw new MemoryError('STORAGE', `cannot read memory data under ${this.options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new MemoryError('CLOSED', 'the memory store is closed');
  }

  /** The (tenant, collection) table; a table loaded from disk must have the dimension the store works in. */
  private table(tenant: string, collection: string, dimension: number, create: boolean): VectorTable | undefined {
    let table = this.tenants.get(tenant)?.get(collection);
    if (table && table.dimension !== dimension) {
      throw new MemoryError(
        'DIMENSION_MISMATCH',
        `collection ${collection} holds ${table.dimension}-dimension vectors; this store's embedder makes ${dimension}. Use the embedder the data was written with, or another dataDir`,
        { details: { expected: table.dimension, actual: dimension } },
      );
    }
    if (!table && create) {
      table = new VectorTable(dimension);
      this.collectionsOf(tenant).set(collection, table);
    }
    return table;
  }

  private collectionsOf(tenant: string): Map<string, VectorTable> {
    let collections = this.tenants.get(tenant);
    if (!collections) {
      collections = new Map();
      this.tenants.set(tenant, collections);
    }
    return collections;
  }

  private changed(tenant: string, collection: string): void {
    if (!this.options.dataDir) return;
    this.dirty.add(JSON.stringify([tenant, collection]));
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.writeDirty());
    }, this.options.flushDelayMs ?? 200);
    // A pending write must not keep the process alive; close() flushes what is left.
    this.timer.unref();
  }

  private async writeDirty(): Promise<void> {
    const dir = this.options.dataDir;
    if (!dir) return;
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const [tenant, collection] = JSON.parse(key) as [string, string];
      const table = this.tenants.get(tenant)?.get(collection) ?? new VectorTable(1);
      try {
        await writeTableFile(dir, tenant, collection, table);
      } catch (err) {
        // Keep it dirty: the next change or close() tries again, and close() reports the error.
        this.dirty.add(key);
        this.lastFlushError = err;
        this.options.logger?.error({ err, collection }, 'memory: writing a data file failed');
      }
    }
  }
}
