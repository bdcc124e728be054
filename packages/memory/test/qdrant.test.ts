import { randomBytes } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalEmbedder, MemoryError, QdrantMemoryStore, createMemoryStore, pointId } from '../src/index.js';
import { memoryConformance } from './memory-conformance.js';
import { type QdrantSchema, loadQdrantSchema } from './support/qdrant-schema.js';
import { QdrantStandIn } from './support/qdrant-stand-in.js';

let schema: QdrantSchema;
let standIn: QdrantStandIn;
const fastRetry = { retries: 3, baseMs: 5, maxDelayMs: 2_000 };

beforeAll(async () => {
  // Generated from the client's OpenAPI types once per file (cached in the temp dir).
  schema = await loadQdrantSchema();
  standIn = await QdrantStandIn.start({ schema });
}, 120_000);

afterAll(async () => {
  await standIn?.close();
});

afterEach(() => {
  // Any body Qdrant's schema rejects, sent or answered, fails the test that caused it.
  expect(standIn.violations.splice(0)).toEqual([]);
});

memoryConformance('qdrant stand-in', async () => ({
  persistent: true,
  open: async () => new QdrantMemoryStore({ url: standIn.url, retry: fastRetry }),
}));

// No Qdrant server can run on the machines CI uses: this suite runs where one is given, and
// docs/memory.md says which paths were run live.
describe.skipIf(!process.env['DROVER_TEST_QDRANT_URL'])('against a real Qdrant (DROVER_TEST_QDRANT_URL)', () => {
  const url = process.env['DROVER_TEST_QDRANT_URL']!;
  const prefix = `drover_test_${randomBytes(4).toString('hex')}_`;
  afterAll(async () => {
    const client = new QdrantClient({ url, checkCompatibility: false });
    const { collections } = await client.getCollections();
    for (const c of collections) if (c.name.startsWith(prefix)) await client.deleteCollection(c.name);
  });
  memoryConformance('real qdrant', async () => ({
    persistent: true,
    open: async () => new QdrantMemoryStore({ url, collectionPrefix: prefix, retry: fastRetry }),
  }));
});

describe('Qdrant wire schema', () => {
  it('rejects bodies Qdrant would reject (the validator can fail)', () => {
    expect(schema.requestErrors('upsert_points', { points: [{ id: 'a', vector: [0.1, 0.2] }] })).toEqual([]);
    // Wrong field name, a string vector, a malformed match: each is a body Qdrant's schema refuses.
    expect(schema.requestErrors('upsert_points', { point: [{ id: 'a', vector: [0.1] }] })).not.toEqual([]);
    expect(schema.requestErrors('upsert_points', { points: [{ id: 'a', vector: 'oops' }] })).not.toEqual([]);
    expect(schema.requestErrors('query_points', { query: [1, 0], filter: { must: [{ key: 'tenant', match: { val: 'a' } }] } })).not.toEqual([]);
    expect(schema.requestErrors('query_points', { query: [1, 0], filter: { must: [{ key: 'tenant', match: { value: 'a' } }] }, limit: 3 })).toEqual([]);
    expect(schema.requestErrors('create_collection', { vectors: { size: 4, distance: 'cosine' } })).not.toEqual([]);
    expect(schema.responseErrors('count_points', { result: { count: 'three' }, status: 'ok', time: 0 })).not.toEqual([]);
    expect(schema.errorBodyErrors({ status: { error: 'x' }, time: 0.1 })).toEqual([]);
  });

  it('makes the stand-in answer 400 with a Qdrant error body to a body the schema rejects', async () => {
    const res = await fetch(`${standIn.url}/collections/wire_check/points`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ point: [] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { status: { error: string }; time: number };
    expect(body.status.error).toMatch(/Format error/);
    expect(schema.errorBodyErrors(body)).toEqual([]);
    expect(standIn.violations).toHaveLength(1);
    standIn.violations.length = 0;
  });
});

describe('QdrantMemoryStore against the stand-in', () => {
  const tag = () => randomBytes(4).toString('hex');

  it('creates the collection with the embedder dimension, Cosine, and a keyword tenant index', async () => {
    const store = new QdrantMemoryStore({ url: standIn.url, collectionPrefix: `p${tag()}_` });
    await store.remember('acme', 'layout', [{ id: 'a', text: 'hello' }]);
    const name = [...standIn.collections.keys()].find((n) => n.endsWith('_layout'))!;
    const c = standIn.collections.get(name)!;
    expect(c).toMatchObject({ size: 256, distance: 'Cosine', indexes: { tenant: { type: 'keyword', is_tenant: true } } });
    const [point] = [...c.points.values()];
    expect(point).toMatchObject({ id: pointId('acme', 'layout', 'a'), payload: { tenant: 'acme', id: 'a', text: 'hello', payload: {} } });
    await store.close();
  });

  it('puts the tenant in every query, count and delete filter it sends', async () => {
    const store = new QdrantMemoryStore({ url: standIn.url });
    const from = standIn.requests.length;
    const t = `t-${tag()}`;
    await store.remember(t, 'audit', [{ id: 'a', text: 'x', payload: { k: 'v' } }]);
    await store.recall(t, 'audit', 'x', { filter: { k: 'v' } });
    await store.recall(t, 'audit', 'x');
    await store.forget(t, 'audit', ['a']);
    await store.forget(t, 'audit', { filter: { k: 'v' } });
    const filtered = standIn.requests.slice(from).filter((r) => ['query_points', 'count_points', 'delete_points', 'search_points'].includes(r.operation ?? ''));
    expect(filtered.length).toBeGreaterThanOrEqual(4);
    for (const r of filtered) {
      const must = (r.body as { filter?: { must?: unknown[] } }).filter?.must;
      expect(must, `${r.operation} without a tenant condition`).toContainEqual({ key: 'tenant', match: { value: t } });
    }
    await store.close();
  });

  it('upserts in batches of 256 points, each waiting for the write', async () => {
    const store = new QdrantMemoryStore({ url: standIn.url });
    const from = standIn.requests.length;
    await store.remember(`t-${tag()}`, 'batches', Array.from({ length: 600 }, (_, i) => ({ id: `i${i}`, text: `item ${i}` })));
    const upserts = standIn.requests.slice(from).filter((r) => r.operation === 'upsert_points');
    expect(upserts.map((r) => (r.body as { points: unknown[] }).points.length)).toEqual([256, 256, 88]);
    await store.close();
  });

  it('retries 429 (after Retry-After) and 503, then succeeds', async () => {
    const store = new QdrantMemoryStore({ url: standIn.url, retry: fastRetry });
    const t = `t-${tag()}`;
    await store.remember(t, 'retry', [{ id: 'a', text: 'first' }]);
    standIn.failNext(1, { status: 429, retryAfter: '1', operation: 'upsert_points' });
    standIn.failNext(1, { status: 503, operation: 'upsert_points' });
    const from = standIn.requests.length;
    const started = Date.now();
    await store.remember(t, 'retry', [{ id: 'b', text: 'second' }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(standIn.requests.slice(from).map((r) => r.status)).toEqual([429, 503, 200]);
    standIn.failNext(2, { status: 503, operation: 'query_points' });
    expect((await store.recall(t, 'retry', 'second'))[0]!.id).toBe('b');
    await store.close();
  });

  it('gives up after the retries with a retryable DROVER_ERR_MEMORY_BACKEND_UNAVAILABLE', async () => {
    const store = new QdrantMemoryStore({ url: standIn.url, retry: { retries: 2, baseMs: 1, maxDelayMs: 5 } });
    const t = `t-${tag()}`;
    await store.remember(t, 'giveup', [{ id: 'a', text: 'x' }]);
    standIn.failNext(3, { status: 503, operation: 'query_points' });
    const err = await store.recall(t, 'giveup', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryError);
    expect(err).toMatchObject({ code: 'DROVER_ERR_MEMORY_BACKEND_UNAVAILABLE', retryable: true, details: { status: 503 } });
    expect((err as Error).message).toContain('Service unavailable');
    await store.close();
  });

  it('is what createMemoryStore picks when a Qdrant URL is configured', async () => {
    const store = createMemoryStore({ qdrantUrl: standIn.url, dataDir: '/nonexistent/ignored' });
    expect(store).toBeInstanceOf(QdrantMemoryStore);
    const t = `t-${tag()}`;
    await store.remember(t, 'factory', [{ id: 'a', text: 'made by the factory' }]);
    expect((await store.recall(t, 'factory', 'made by the factory'))[0]).toMatchObject({ id: 'a', text: 'made by the factory' });
    await store.close();
  });

  it('reports a collection made with another dimension', async () => {
    const prefix = `p${tag()}_`;
    const narrow = new QdrantMemoryStore({ url: standIn.url, collectionPrefix: prefix, embedder: new LocalEmbedder({ dimension: 32 }) });
    await narrow.remember('acme', 'dims', [{ id: 'a', text: 'x' }]);
    const wide = new QdrantMemoryStore({ url: standIn.url, collectionPrefix: prefix });
    await expect(wide.remember('acme', 'dims', [{ id: 'b', text: 'y' }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH' });
    await narrow.close();
    await wide.close();
  });
});

describe('QdrantMemoryStore with an API key', () => {
  let secured: QdrantStandIn;
  beforeAll(async () => {
    secured = await QdrantStandIn.start({ schema, apiKey: 'sekret' });
  });
  afterAll(() => secured.close());

  it('sends the api-key header, and a wrong key fails with DROVER_ERR_MEMORY_CONFIG', async () => {
    const good = new QdrantMemoryStore({ url: secured.url, apiKey: 'sekret' });
    await good.remember('acme', 'auth', [{ id: 'a', text: 'x' }]);
    expect((await good.recall('acme', 'auth', 'x'))[0]!.id).toBe('a');
    const bad = new QdrantMemoryStore({ url: secured.url, apiKey: 'wrong', retry: fastRetry });
    await expect(bad.recall('acme', 'auth', 'x')).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_CONFIG' });
    const none = await fetch(`${secured.url}/collections/auth/exists`);
    expect(none.status).toBe(401);
    expect(schema.errorBodyErrors(await none.json())).toEqual([]);
    expect(secured.violations).toEqual([]);
  });
});
