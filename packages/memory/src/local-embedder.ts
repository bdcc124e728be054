import type { Embedder } from './embedder.js';
import { unitVector } from './unit-vector.js';

export interface LocalEmbedderOptions {
  /** Default 256. */
  dimension?: number;
}

const WORD = /[\p{L}\p{N}]+/gu;
const WORD_WEIGHT = 1;
// Trigrams let "embedder" and "embedders" share most of their features; weighted below words
// so that a shared whole word still counts for more than shared spelling.
const TRIGRAM_WEIGHT = 0.5;

/**
 * A deterministic, offline embedder: feature hashing of lowercased word unigrams and character
 * trigrams into a fixed number of dimensions, L2-normalised. Texts that share words come out
 * near each other; it knows nothing of synonyms. The default, so memory works with no service.
 */
export class LocalEmbedder implements Embedder {
  readonly dimension: number;

  constructor(options: LocalEmbedderOptions = {}) {
    const dimension = options.dimension ?? 256;
    if (!Number.isInteger(dimension) || dimension < 8 || dimension > 65_536) {
      throw new RangeError(`LocalEmbedder dimension must be an integer from 8 to 65536, got ${dimension}`);
    }
    this.dimension = dimension;
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((text) => Array.from(this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const acc = new Float64Array(this.dimension);
    const words = text.toLowerCase().match(WORD) ?? [];
    for (const word of words) {
      this.add(acc, `w:${word}`, WORD_WEIGHT);
      const padded = ` ${word} `;
      for (let i = 0; i + 3 <= padded.length; i++) this.add(acc, `t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
    }
    // Text with no letters or digits ("!!!") still gets a direction of its own, not a zero vector.
    if (words.length === 0) this.add(acc, `raw:${text}`, 1);
    return unitVector(acc);
  }

  private add(acc: Float64Array, feature: string, weight: number): void {
    const h = fnv1a(feature);
    // The sign bit halves the bias that colliding features add to each other (the hashing trick).
    const sign = (h & 0x80000000) === 0 ? 1 : -1;
    const i = (h & 0x7fffffff) % this.dimension;
    acc[i] = acc[i]! + sign * weight;
  }
}

/** 32-bit FNV-1a over UTF-16 code units, with a final avalanche so low bits mix well. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
