import type { PayloadFilter } from './memory-store.js';
import { TopKHeap } from './top-k-heap.js';

export interface TableRow {
  id: string;
  text: string | undefined;
  payload: Record<string, unknown>;
}

/**
 * The items of one (tenant, collection) in memory: unit vectors back to back in one
 * Float32Array (row i at i × dimension), metadata in parallel arrays, a map from id to row.
 * Removal moves the last row into the hole, so rows stay dense and a scan touches no gaps.
 */
export class VectorTable {
  private data: Float32Array;
  private readonly rows: TableRow[] = [];
  private readonly byId = new Map<string, number>();

  constructor(
    readonly dimension: number,
    capacity = 64,
  ) {
    this.data = new Float32Array(Math.max(1, capacity) * dimension);
  }

  get size(): number {
    return this.rows.length;
  }

  /** The vectors of rows 0..size-1, for persistence (a view, not a copy). */
  get vectors(): Float32Array {
    return this.data.subarray(0, this.rows.length * this.dimension);
  }

  entries(): readonly TableRow[] {
    return this.rows;
  }

  /** Inserts or replaces; `unit` must already be L2-normalised and of this table's dimension. */
  upsert(row: TableRow, unit: Float32Array): void {
    let i = this.byId.get(row.id);
    if (i === undefined) {
      i = this.rows.length;
      this.grow(i + 1);
      this.rows.push(row);
      this.byId.set(row.id, i);
    } else {
      this.rows[i] = row;
    }
    this.data.set(unit, i * this.dimension);
  }

  remove(id: string): boolean {
    const i = this.byId.get(id);
    if (i === undefined) return false;
    const last = this.rows.length - 1;
    if (i !== last) {
      const moved = this.rows[last]!;
      this.rows[i] = moved;
      this.byId.set(moved.id, i);
      this.data.copyWithin(i * this.dimension, last * this.dimension, (last + 1) * this.dimension);
    }
    this.rows.pop();
    this.byId.delete(id);
    return true;
  }

  /** Ids of the rows whose payload matches every condition of the filter. */
  matching(filter: PayloadFilter): string[] {
    const conditions = Object.entries(filter);
    return this.rows.filter((row) => matches(row.payload, conditions)).map((row) => row.id);
  }

  /** The k rows nearest to `unit` by cosine (a dot product of unit vectors), best first. */
  search(unit: Float32Array, k: number, filter?: PayloadFilter): Array<{ score: number; row: TableRow }> {
    const heap = new TopKHeap(k);
    const conditions = filter ? Object.entries(filter) : [];
    const d = this.dimension;
    const data = this.data;
    const n = this.rows.length;
    for (let r = 0; r < n; r++) {
      if (conditions.length > 0 && !matches(this.rows[r]!.payload, conditions)) continue;
      const base = r * d;
      // Four partial sums let the CPU overlap the multiplies; the tail loop covers a
      // dimension that is not a multiple of 4.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j + 4 <= d; j += 4) {
        s0 += data[base + j]! * unit[j]!;
        s1 += data[base + j + 1]! * unit[j + 1]!;
        s2 += data[base + j + 2]! * unit[j + 2]!;
        s3 += data[base + j + 3]! * unit[j + 3]!;
      }
      for (; j < d; j++) s0 += data[base + j]! * unit[j]!;
      heap.push(s0 + s1 + s2 + s3, r);
    }
    return heap.drain().map(({ score, row }) => ({ score, row: this.rows[row]! }));
  }

  private grow(rows: number): void {
    if (rows * this.dimension <= this.data.length) return;
    const next = new Float32Array(Math.max(rows, Math.ceil((this.data.length / this.dimension) * 1.5)) * this.dimension);
    next.set(this.data);
    this.data = next;
  }
}

function matches(payload: Record<string, unknown>, conditions: Array<[string, string | number | boolean]>): boolean {
  for (const [key, value] of conditions) if (payload[key] !== value) return false;
  return true;
}
