/**
 * The contract every vector memory backend implements. Everything is scoped by tenant: a
 * tenant's items are invisible to every other tenant, whatever the collection name or ids.
 */

/** Exact-match conditions on payload keys, all of which must hold (AND). */
export type PayloadFilter = Record<string, string | number | boolean>;

export interface MemoryItem {
  /** The caller's id, unique within (tenant, collection); remembering it again replaces the item. */
  id: string;
  /** Embedded by the store's embedder when no vector is given; kept and returned by recall. */
  text?: string;
  /** Used as is (normalised for cosine) instead of embedding the text. */
  vector?: number[];
  payload?: Record<string, unknown>;
}

export interface RecallOptions {
  /** How many hits at most, 1..100; default 5. */
  k?: number;
  filter?: PayloadFilter;
  signal?: AbortSignal;
}

export interface RecallHit {
  id: string;
  /** Cosine similarity, -1..1, higher is nearer. */
  score: number;
  text?: string;
  payload: Record<string, unknown>;
}

/** Which items forget removes: a list of the caller's ids, or every item whose payload matches. */
export type ForgetSelector = string[] | { filter: PayloadFilter };

export interface MemoryStore {
  /** The vector dimension; 0 until the embedder has learned it from its first answer. */
  readonly dimension: number;
  /** Upserts the items; returns how many were written. */
  remember(tenant: string, collection: string, items: MemoryItem[], options?: { signal?: AbortSignal }): Promise<number>;
  /** The k nearest items by cosine similarity, best first. */
  recall(tenant: string, collection: string, query: string | number[], options?: RecallOptions): Promise<RecallHit[]>;
  /** Removes the selected items of this tenant; returns how many there were. */
  forget(tenant: string, collection: string, selector: ForgetSelector): Promise<number>;
  /** Flushes what is pending and releases connections; later calls fail with DROVER_ERR_MEMORY_CLOSED. */
  close(): Promise<void>;
}
