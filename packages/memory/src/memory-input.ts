import { MemoryError } from './memory-error.js';
import type { ForgetSelector, MemoryItem, PayloadFilter } from './memory-store.js';

/**
 * Checks of what callers pass to a MemoryStore, shared by every backend so that they reject
 * the same input with the same codes.
 */

const COLLECTION = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// Qdrant reads `.` and `[]` in a filter key as a path into nested payload; the embedded store
// matches top-level keys only. Refusing them keeps both backends answering the same.
const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TENANT_LENGTH = 256;
export const MAX_K = 100;
export const DEFAULT_K = 5;
export const MAX_ID_LENGTH = 1024;

export function checkTenant(tenant: unknown): asserts tenant is string {
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > MAX_TENANT_LENGTH) {
    throw new MemoryError('BAD_TENANT', `tenant must be a non-empty string of at most ${MAX_TENANT_LENGTH} characters`);
  }
}

export function checkCollection(collection: unknown): asserts collection is string {
  if (typeof collection !== 'string' || !COLLECTION.test(collection)) {
    throw new MemoryError(
      'BAD_COLLECTION',
      `collection ${JSON.stringify(collection)} is invalid: use 1 to 63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`,
    );
  }
}

export function checkK(k: unknown): number {
  if (k === undefined) return DEFAULT_K;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new MemoryError('BAD_K', `k must be an integer from 1 to ${MAX_K}, got ${String(k)}`);
  }
  return k;
}

export function checkFilter(filter: unknown): PayloadFilter | undefined {
  if (filter === undefined) return undefined;
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new MemoryError('BAD_FILTER', 'filter must be an object of payload key → string, number or boolean');
  }
  for (const [key, value] of Object.entries(filter)) {
    if (!FILTER_KEY.test(key)) {
      throw new MemoryError('BAD_FILTER', `filter key ${JSON.stringify(key)} is invalid: use 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'`);
    }
    const kind = typeof value;
    if (kind !== 'string' && kind !== 'boolean' && !(kind === 'number' && Number.isFinite(value))) {
      throw new MemoryError('BAD_FILTER', `filter value of ${JSON.stringify(key)} must be a string, a finite number or a boolean`);
    }
  }
  return filter as PayloadFilter;
}

export function checkVector(vector: unknown, dimension: number, what: string): asserts vector is number[] {
  if (!Array.isArray(vector) || vector.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new MemoryError('BAD_ITEM', `${what} must be an array of finite numbers`);
  }
  if (dimension > 0 && vector.length !== dimension) {
    throw new MemoryError('DIMENSION_MISMATCH', `${what} has ${vector.length} dimensions; this store's vectors have ${dimension}`, {
      details: { expected: dimension, actual: vector.length },
    });
  }
  if (vector.every((x) => x === 0)) throw new MemoryError('BAD_ITEM', `${what} is all zeros and has no direction to compare by cosine`);
}

export function checkItems(items: unknown): asserts items is MemoryItem[] {
  if (!Array.isArray(items)) throw new MemoryError('BAD_ITEM', 'items must be an array');
  const seen = new Set<string>();
  items.forEach((item: Partial<MemoryItem> | null, i) => {
    if (item === null || typeof item !== 'object') throw new MemoryError('BAD_ITEM', `items[${i}] must be an object`);
    if (typeof item.id !== 'string' || item.id.length === 0 || item.id.length > MAX_ID_LENGTH) {
      throw new MemoryError('BAD_ITEM', `items[${i}].id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (seen.has(item.id)) throw new MemoryError('BAD_ITEM', `items[${i}].id ${JSON.stringify(item.id)} appears twice in one call`);
    seen.add(item.id);
    if (item.text === undefined && item.vector === undefined) {
      throw new MemoryError('BAD_ITEM', `items[${i}] (${JSON.stringify(item.id)}) needs a text or a vector`);
    }
    if (item.text !== undefined && typeof item.text !== 'string') throw new MemoryError('BAD_ITEM', `items[${i}].text must be a string`);
    if (item.payload !== undefined && (item.payload === null || typeof item.payload !== 'object' || Array.isArray(item.payload))) {
      throw new MemoryError('BAD_ITEM', `items[${i}].payload must be an object`);
    }
  });
}

export function checkQuery(query: unknown): asserts query is string | number[] {
  if (typeof query === 'string') {
    if (query.length === 0) throw new MemoryError('BAD_QUERY', 'query text must not be empty');
    return;
  }
  if (!Array.isArray(query)) throw new MemoryError('BAD_QUERY', 'query must be a text or a vector');
}

export function checkSelector(selector: unknown): ForgetSelector {
  if (Array.isArray(selector)) {
    for (const id of selector) {
      if (typeof id !== 'string' || id.length === 0) throw new MemoryError('BAD_ITEM', 'forget ids must be non-empty strings');
    }
    return selector as string[];
  }
  if (selector !== null && typeof selector === 'object' && 'filter' in selector) {
    const filter = checkFilter((selector as { filter: unknown }).filter);
    // An empty filter matches everything; forgetting a whole collection must be asked for by ids.
    if (filter === undefined || Object.keys(filter).length === 0) {
      throw new MemoryError('BAD_FILTER', 'forget by filter needs at least one payload key');
    }
    return { filter };
  }
  throw new MemoryError('BAD_ITEM', 'forget takes an array of ids or {filter}');
}
