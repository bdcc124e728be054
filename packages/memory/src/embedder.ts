/** Turns texts into vectors. One embedder per store: every vector of a store has its dimension. */
export interface Embedder {
  /** Length of every vector embed() returns; 0 while not yet known (learned from the first answer). */
  readonly dimension: number;
  /** One vector per text, in the order of `texts`. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
