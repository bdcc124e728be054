import type { Logger } from '@drover/shared';
import { QdrantClient, QdrantClientResourceExhaustedError, QdrantClientTimeoutError, type Schemas } from '@qdrant/js-client-rest';
import type { Embedder } from './embedder.js';
import { itemVectors, queryVector, storeDimension } from './item-vectors.js';
import { LocalEmbedder } from './local-embedder.js';
import { checkCollection, checkFilter, checkItems, checkK, checkQuery, checkSelector, checkTenant } from './memory-input.js';
import { MemoryError } from './memory-error.js';
import type { ForgetSelector, MemoryItem, MemoryStore, PayloadFilter, RecallHit, RecallOptions } from './memory-store.js';
import { pointId } from './point-id.js';
import { DEFAULT_RETRY, type RetryDecision, type RetryPolicy, parseRetryAfter, withRetry } from './retry.js';
import { unitVector } from './unit-vector.js';

export interface QdrantMemoryStoreOptions {
  /** e.g. http://qdrant:6333 */
  url: string;
  /** Sent in Qdrant's `api-key` header. */
  apiKey?: string;
  /** Defaults to a LocalEmbedder (256 dimensions). */
  embedder?: Embedder;
  /** Prefix of the Qdrant collection names; default `drover_`. */
  collectionPrefix?: string;
  /** Points per upsert request; default 256. */
  batchSize?: number;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** A client of your own (tests, custom dispatcher); url and apiKey are then ignored. */
  client?: QdrantClient;
}

/** The Qdrant payload of a point: Drover's fields at the top, the caller's payload under `payload`. */
interface PointPayload {
  tenant: string;
  id: string;
  text?: string;
  payload: Record<string, unknown>;
}

/**
 * Qdrant backend. One Qdrant collection per Drover collection (`drover_<name>`), shared by
 * all tenants, as Qdrant advises for multitenancy: the `tenant` payload field has a keyword
 * index with `is_tenant`, and every query, count and delete filter carries `tenant`, so no
 * request can reach another tenant's points. Point ids are UUIDv5 of (tenant, collection, id).
 */
export class QdrantMemoryStore implements MemoryStore {
  private readonly client: QdrantClient;
  private readonly embedder: Embedder;
  private readonly prefix: string;
  private readonly batchSize: number;
  private readonly retry: RetryPolicy;
  /** Collections known to exist with the right dimension and the tenant index; a failed check is dropped and retried. */
  private readonly prepared = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: QdrantMemoryStoreOptions) {
    if (!options.client && !/^https?:\/\//.test(options.url)) {
      throw new MemoryError('CONFIG', `Qdrant url must start with http:// or https://, got ${JSON.stringify(options.url)}`);
    }
    // The version check would print console warnings of its own; compatibility is the deployment's to pin.
    this.client =
      options.client ?? new QdrantClient({ url: options.url, apiKey: options.apiKey, timeout: options.timeoutMs ?? 30_000, checkCompatibility: false });
    this.embedder = options.embedder ?? new LocalEmbedder();
    this.prefix = options.collectionPrefix ?? 'drover_';
    this.batchSize = options.batchSize ?? 256;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  get dimension(): number {
    return this.embedder.dimension;
  }

  async remember(tenant: string, collection: string, items: MemoryItem[], options: { signal?: AbortSignal } = {}): Promise<number> {
    checkTenant(tenant);
    checkCollection(collection);
    checkItems(items);
    this.checkOpen();
    if (items.length === 0) return 0;
    const vectors = await itemVectors(this.embedder, items, options.signal);
    const name = await this.prepare(collection, vectors[0]!.length, true, options.signal);
    const points = items.map((item, i) => {
      const payload: PointPayload = { tenant, id: item.id, payload: item.payload ?? {} };
      if (item.text !== undefined) payload.text = item.text;
      return { id: pointId(tenant, collection, item.id), vector: Array.from(unitVector(vectors[i]!)), payload: payload as unknown as Record<string, unknown> };
    });
    for (let i = 0; i < points.length; i += this.batchSize) {
      const batch = points.slice(i, i + this.batchSize);
      await this.call('upsert points', () => this.client.upsert(name!, { wait: true, points: batch }), options.signal);
    }
    return items.length;
  }

  async recall(tenant: string, collection: string, query: string | number[], options: RecallOptions = {}): Promise<RecallHit[]> {
    checkTenant(tenant);
    checkCollection(collection);
    checkQuery(query);
    const k = checkK(options.k);
    const filter = checkFilter(options.filter);
    this.checkOpen();
    const vector = await queryVector(this.embedder, query, options.signal);
    const name = await this.prepare(collection, vector.length, false, options.signal);
    if (!name) return [];
    const result = await this.call(
      'query points',
      () =>
        this.client.query(name, {
          query: Array.from(unitVector(vector)),
          filter: tenantFilter(tenant, filter),
          limit: k,
          with_payload: true,
          with_vector: false,
        }),
      options.signal,
    );
    return result.points.map((point) => {
      const payload = point.payload as unknown as PointPayload;
      const hit: RecallHit = { id: payload.id, score: point.score, payload: payload.payload ?? {} };
      if (typeof payload.text === 'string') hit.text = payload.text;
      return hit;
    });
  }

  async forget(tenant: string, collection: string, selector: ForgetSelector): Promise<number> {
    checkTenant(tenant);
    checkCollection(collection);
    const checked = checkSelector(selector);
    this.checkOpen();
    if (Array.isArray(checked) && checked.length === 0) return 0;
    const name = await this.prepare(collection, await storeDimension(this.embedder), false);
    if (!name) return 0;
    // The ids are hashed with the tenant already; the tenant condition makes the isolation
    // hold even so, and is what an auditor looks for in every delete.
    const filter = Array.isArray(checked)
      ? { must: [tenantCondition(tenant), { has_id: checked.map((id) => pointId(tenant, collection, id)) }] }
      : tenantFilter(tenant, checked.filter);
    // Qdrant's delete answers no count; counting first is exact unless the same items change meanwhile.
    const { count } = await this.call('count points', () => this.client.count(name, { filter, exact: true }));
    if (count === 0) return 0;
    await this.call('delete points', () => this.client.delete(name, { wait: true, filter }));
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.prepared.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new MemoryError('CLOSED', 'the memory store is closed');
  }

  /**
   * The Qdrant collection's name once it is ready for use: it exists, has `dimension`-sized
   * Cosine vectors and the tenant index. Without `create`, an absent collection gives undefined
   * (nothing to recall or forget) and is not created.
   */
  private async prepare(collection: string, dimension: number, create: boolean, signal?: AbortSignal): Promise<string | undefined> {
    const name = this.prefix + collection;
    const known = this.prepared.get(name);
    if (known) {
      await known;
      return name;
    }
    const { exists } = await this.call('check collection', () => this.client.collectionExists(name), signal);
    if (!exists && !create) return undefined;
    const ready = this.setUp(name, dimension, exists);
    this.prepared.set(name, ready);
    try {
      await ready;
    } catch (err) {
      this.prepared.delete(name);
      throw err;
    }
    return name;
  }

  private async setUp(name: string, dimension: number, exists: boolean): Promise<void> {
    if (!exists) {
      try {
        await this.call('create collection', () => this.client.createCollection(name, { vectors: { size: dimension, distance: 'Cosine' } }));
        this.options.logger?.info({ collection: name, dimension }, 'memory: created Qdrant collection');
      } catch (err) {
        // Another replica may have created it between our check and our create; that is fine.
        const again = await this.call('check collection', () => this.client.collectionExists(name));
        if (!again.exists) throw err;
      }
    }
    const info = await this.call('get collection', () => this.client.getCollection(name));
    const params = info.config.params.vectors as Schemas['VectorParams'] | Record<string, Schemas['VectorParams']> | undefined;
    const size = params && typeof (params as Schemas['VectorParams']).size === 'number' ? (params as Schemas['VectorParams']).size : undefined;
    if (size !== dimension) {
      throw new MemoryError(
        'DIMENSION_MISMATCH',
        `Qdrant collection ${name} has ${size === undefined ? 'named or no' : size}-dimension vectors; this store's embedder makes ${dimension}. Use the embedder the collection was made with, or another collection`,
        { details: { expected: size, actual: dimension } },
      );
    }
    if (!info.payload_schema?.['tenant']) {
      await this.call('create tenant index', () =>
        this.client.createPayloadIndex(name, { field_name: 'tenant', field_schema: { type: 'keyword', is_tenant: true }, wait: true }),
      );
    }
  }

  /** One Qdrant request with retries on 429, 5xx, timeouts and dropped connections; failures become MemoryErrors. */
  private async call<T>(what: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await withRetry(request, decide, this.retry, signal);
    } catch (err) {
      if (err instanceof MemoryError || signal?.aborted) throw err;
      const status = httpStatus(err);
      const detail = qdrantMessage(err);
      if (status === 401 || status === 403) {
        throw new MemoryError('CONFIG', `Qdrant refused the API key (HTTP ${status}) on ${what}: set the Qdrant API key the server expects`, { cause: err });
      }
      const retryable = status === undefined || status === 429 || status >= 500;
      throw new MemoryError('BACKEND_UNAVAILABLE', `Qdrant ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`, { retryable, cause: err, details: { status } });
    }
  }
}

function tenantCondition(tenant: string): Schemas['FieldCondition'] {
  return { key: 'tenant', match: { value: tenant } };
}

/** The tenant condition, then one per caller condition on the nested `payload` object. */
function tenantFilter(tenant: string, filter: PayloadFilter | undefined): Schemas['Filter'] {
  const must: Schemas['FieldCondition'][] = [tenantCondition(tenant)];
  for (const [key, value] of Object.entries(filter ?? {})) {
    // Qdrant matches integers, strings and booleans exactly; other numbers need a closed range.
    if (typeof value === 'number' && !Number.isInteger(value)) must.push({ key: `payload.${key}`, range: { gte: value, lte: value } });
    else must.push({ key: `payload.${key}`, match: { value } });
  }
  return { must };
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof QdrantClientResourceExhaustedError) return 429;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function decide(err: unknown): RetryDecision {
  if (err instanceof QdrantClientResourceExhaustedError) return { retry: true, afterMs: err.retry_after * 1000 };
  if (err instanceof QdrantClientTimeoutError) return { retry: true };
  const status = httpStatus(err);
  if (status !== undefined) {
    if (status !== 429 && status < 500) return { retry: false };
    const headers = (err as { headers?: Headers }).headers;
    const afterMs = parseRetryAfter(headers?.get?.('retry-after'));
    return afterMs === undefined ? { retry: true } : { retry: true, afterMs };
  }
  // fetch rejects with a TypeError when the connection fails or drops.
  return err instanceof TypeError ? { retry: true } : { retry: false };
}

/** Qdrant's own error text (`{status: {error}}`), else the error's message. */
function qdrantMessage(err: unknown): string {
  const data = (err as { data?: { status?: { error?: unknown } } } | null)?.data;
  if (typeof data?.status?.error === 'string') return data.status.error;
  return err instanceof Error ? err.message : String(err);
}
