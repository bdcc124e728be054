import type { Embedder } from './embedder.js';
import { checkVector } from './memory-input.js';
import { MemoryError } from './memory-error.js';
import type { MemoryItem } from './memory-store.js';

/**
 * The vector dimension a store works in: the embedder's, learned by one probe when the
 * embedder only finds out from its first answer (an OpenAI-compatible model with no
 * configured dimension) and the caller brought vectors of its own.
 */
export async function storeDimension(embedder: Embedder, signal?: AbortSignal): Promise<number> {
  if (embedder.dimension > 0) return embedder.dimension;
  const [probe] = await embedder.embed(['dimension probe'], signal);
  const dimension = embedder.dimension || probe?.length || 0;
  if (dimension === 0) throw new MemoryError('EMBEDDING_FAILED', 'the embedder did not reveal its vector dimension');
  return dimension;
}

/** One vector per item: the item's own, or its text embedded (all texts in one embed call). */
export async function itemVectors(embedder: Embedder, items: MemoryItem[], signal?: AbortSignal): Promise<number[][]> {
  const texts: string[] = [];
  const slots: number[] = [];
  items.forEach((item, i) => {
    if (item.vector === undefined) {
      texts.push(item.text!);
      slots.push(i);
    }
  });
  const embedded = texts.length > 0 ? await embedder.embed(texts, signal) : [];
  const dimension = await storeDimension(embedder, signal);
  const out = items.map((item) => item.vector as number[]);
  slots.forEach((slot, j) => {
    out[slot] = embedded[j]!;
  });
  out.forEach((vector, i) => {
    checkVector(vector, dimension, `vector of item ${JSON.stringify(items[i]!.id)}`);
  });
  return out;
}

export async function queryVector(embedder: Embedder, query: string | number[], signal?: AbortSignal): Promise<number[]> {
  const vector = typeof query === 'string' ? (await embedder.embed([query], signal))[0]! : query;
  checkVector(vector, await storeDimension(embedder, signal), 'query vector');
  return vector;
}
