/**
 * The things a consumer has running now (its attempts), held in an array of slots that are
 * reused as tasks come and go. add() returns the slot, remove() frees it.
 *
 * Why not a Set or a Map: on the per-task path every task is inserted and deleted once, and a
 * hash table under that churn is reallocated every few dozen tasks. When V8 has placed a table
 * in the old generation, the discarded table still points at the attempts that were running
 * when it was replaced, and a minor GC cannot tell that the old table is dead: those attempts,
 * and the job, input and closures they reach, survive every minor GC and are promoted, until
 * the next full GC. On the 20k-task bullmq drain that promoted about 1 KB per task and made each
 * minor GC two to three times slower (see DEVELOPERS.md). An array that only grows to the
 * consumer's concurrency and whose slots are overwritten in place has no such leftovers.
 */
export class SlotTable<T> {
  private readonly items: Array<T | undefined> = [];
  private readonly free: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): number {
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.items.length;
    this.items[slot] = item;
    this.count++;
    return slot;
  }

  /** `slot` is what add() returned for this item; removing a slot twice is a caller's bug. */
  remove(slot: number): void {
    this.items[slot] = undefined;
    this.free.push(slot);
    this.count--;
  }

  /** The items held now (a copy, so callers may add and remove while they go through it). */
  values(): T[] {
    const out: T[] = [];
    for (const item of this.items) if (item !== undefined) out.push(item);
    return out;
  }
}
