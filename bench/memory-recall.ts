/**
 * Exact recall in the embedded memory store: p50/p99 latency of one recall (k = 10) over
 * --items random unit vectors of 256 dimensions, against a brute-force baseline in the same
 * process (every cosine into an array of objects, then a full sort), and a check that both
 * return the same top k for every query.
 *
 *   node --conditions=@drover/source --import tsx bench/memory-recall.ts [--items 100000] [--queries 500] [--dimension 256] [--k 10]
 *
 * The store keeps unit vectors back to back in one Float32Array and keeps the best k in a
 * bounded heap, so a query is one pass of dot products with no allocation per item.
 */
import { parseArgs } from 'node:util';
import { EmbeddedMemoryStore, LocalEmbedder, type MemoryItem } from '@drover/memory';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '500' },
    dimension: { type: 'string', default: '256' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
  },
});
const ITEMS = Number(values.items);
const QUERIES = Number(values.queries);
const D = Number(values.dimension);
const K = Number(values.k);

// A seeded generator (mulberry32), so runs compare like with like.
let state = Number(values.seed) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const unit = (): number[] => {
  const v = Array.from({ length: D }, () => random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

/** The naive way: a cosine per item into an array of objects, then sort them all. */
function bruteForce(vectors: Float32Array[], ids: string[], query: number[], k: number): Array<{ id: string; score: number }> {
  let qn = 0;
  for (const x of query) qn += x * x;
  qn = Math.sqrt(qn);
  const all = vectors.map((v, i) => {
    let dot = 0;
    let vn = 0;
    for (let j = 0; j < D; j++) {
      dot += v[j]! * query[j]!;
      vn += v[j]! * v[j]!;
    }
    return { id: ids[i]!, score: dot / (Math.sqrt(vn) * qn) };
  });
  all.sort((a, b) => b.score - a.score);
  return all.slice(0, k);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

// Raw vectors must have the embedder's dimension; a LocalEmbedder of D dimensions sets it.
const store = new EmbeddedMemoryStore({ embedder: new LocalEmbedder({ dimension: D }) });
const ids: string[] = [];
const vectors: Float32Array[] = [];
const t0 = performance.now();
for (let i = 0; i < ITEMS; i += 10_000) {
  const batch: MemoryItem[] = [];
  for (let j = i; j < Math.min(ITEMS, i + 10_000); j++) {
    const v = unit();
    ids.push(`item-${j}`);
    // The baseline gets the same float32 values the store keeps, so scores agree to the last bit that matters.
    vectors.push(Float32Array.from(v));
    batch.push({ id: `item-${j}`, vector: v });
  }
  await store.remember('bench', 'recall', batch);
}
const loadSeconds = (performance.now() - t0) / 1000;

const queries = Array.from({ length: QUERIES }, unit);
// Warm both paths up so the JIT has compiled them before timing.
for (const q of queries.slice(0, 5)) {
  await store.recall('bench', 'recall', q, { k: K });
  bruteForce(vectors, ids, q, K);
}

// Each path runs its queries in a pass of its own: interleaved, the garbage of the baseline's
// 100,000 objects per query would be collected during the store's queries and bill them for it.
const storeMs: number[] = [];
const got: Array<Array<{ id: string; score: number }>> = [];
for (const q of queries) {
  const t = performance.now();
  got.push(await store.recall('bench', 'recall', q, { k: K }));
  storeMs.push(performance.now() - t);
}
const baseMs: number[] = [];
let mismatches = 0;
queries.forEach((q, n) => {
  const t = performance.now();
  const want = bruteForce(vectors, ids, q, K);
  baseMs.push(performance.now() - t);
  const hits = got[n]!;
  const same = hits.length === want.length && hits.every((h, i) => h.id === want[i]!.id && Math.abs(h.score - want[i]!.score) < 1e-5);
  if (!same) mismatches++;
});
await store.close();

const rows = [
  ['embedded store (Float32Array + top-k heap)', storeMs],
  ['brute force (objects + full sort)', baseMs],
] as const;
console.log(`memory recall: ${ITEMS} items × ${D} dims, ${QUERIES} queries, k = ${K} (loaded in ${loadSeconds.toFixed(1)} s)`);
console.log('| path | p50 (ms) | p99 (ms) | mean (ms) |');
console.log('|---|---:|---:|---:|');
for (const [name, ms] of rows) {
  console.log(`| ${name} | ${pct(ms, 50).toFixed(2)} | ${pct(ms, 99).toFixed(2)} | ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2)} |`);
}
console.log(`\nratio brute force / store: p50 ${(pct(baseMs, 50) / pct(storeMs, 50)).toFixed(1)}×, p99 ${(pct(baseMs, 99) / pct(storeMs, 99)).toFixed(1)}×`);
console.log(`same top ${K} as the baseline: ${QUERIES - mismatches} of ${QUERIES} queries${mismatches > 0 ? ' — MISMATCH' : ''}`);
if (mismatches > 0) process.exitCode = 1;
