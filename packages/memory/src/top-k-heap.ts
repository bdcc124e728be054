/**
 * The k best (score, row) pairs seen so far, in a binary min-heap of typed arrays: the worst
 * kept pair sits at the root, so a new score is compared once and most rows cost nothing more.
 * O(n log k) over n rows, instead of sorting all n. Ties go to the lower row, so results are
 * deterministic and match a stable full sort.
 */
export class TopKHeap {
  private readonly scores: Float64Array;
  private readonly rows: Int32Array;
  private size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.rows = new Int32Array(k);
  }

  /** The score a row must beat to enter; -Infinity while the heap has room. */
  get threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[0]!;
  }

  push(score: number, row: number): void {
    if (this.size < this.k) {
      this.scores[this.size] = score;
      this.rows[this.size] = row;
      this.up(this.size++);
    } else if (this.worse(this.scores[0]!, this.rows[0]!, score, row)) {
      this.scores[0] = score;
      this.rows[0] = row;
      this.down(0);
    }
  }

  /** The kept pairs, best first. */
  drain(): Array<{ score: number; row: number }> {
    const out: Array<{ score: number; row: number }> = [];
    for (let i = 0; i < this.size; i++) out.push({ score: this.scores[i]!, row: this.rows[i]! });
    out.sort((a, b) => b.score - a.score || a.row - b.row);
    return out;
  }

  /** Whether (sa, ra) ranks below (sb, rb). */
  private worse(sa: number, ra: number, sb: number, rb: number): boolean {
    return sa < sb || (sa === sb && ra > rb);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(this.scores[i]!, this.rows[i]!, this.scores[parent]!, this.rows[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < this.size && this.worse(this.scores[l]!, this.rows[l]!, this.scores[worst]!, this.rows[worst]!)) worst = l;
      if (r < this.size && this.worse(this.scores[r]!, this.rows[r]!, this.scores[worst]!, this.rows[worst]!)) worst = r;
      if (worst === i) return;
      this.swap(i, worst);
      i = worst;
    }
  }

  private swap(a: number, b: number): void {
    const s = this.scores[a]!;
    this.scores[a] = this.scores[b]!;
    this.scores[b] = s;
    const r = this.rows[a]!;
    this.rows[a] = this.rows[b]!;
    this.rows[b] = r;
  }
}
